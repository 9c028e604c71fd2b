import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import type { AbortOptions } from '../src/ports/abort-options.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const RELAY = '12D3KooWLRPJAA5o6J7tSWvkqdtTBfiGh1QWLfU3mXRQTkZ7BFmb'

/** Storage nodes placed under the addresses `addressOf` gives them, as membership's placementAddresses would. */
class AddressedFederation extends MemoryFederation {
  private readonly addressOf: (peerId: string) => string
  constructor (addressOf: (peerId: string) => string) {
    super()
    this.addressOf = addressOf
  }

  override async candidates (options?: AbortOptions): ReturnType<MemoryFederation['candidates']> {
    return (await super.candidates(options)).map((c) => ({ ...c, addresses: [this.addressOf(c.peerId)] }))
  }
}

function ownerOn (federation: MemoryFederation): OwnerService {
  const log = silentLoggerFactory('test')
  const deps = { master: randomBytes(32), federation, log }
  return new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 }))
}

describe('a put says when its copies could not be spread', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  before(async () => {
    dir = await tempDir()
    await writeFile(join(dir.path, 'a.bin'), randomBytes(100_000))
  })
  after(async () => { await dir.cleanup() })

  it('every storage node behind one relay: all copies stored, under-diversified', async () => {
    const federation = new AddressedFederation((peer) => `/ip4/198.51.100.2/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${peer}`)
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    const [outcome] = await ownerOn(federation).put([join(dir.path, 'a.bin')], 3, () => {})
    assert.deepEqual([outcome!.holders.length, outcome!.underReplicated, outcome!.underDiversified], [3, false, true])
  })

  it('storage nodes in subnets of their own: not under-diversified', async () => {
    const federation = new AddressedFederation((peer) => `/ip4/198.51.${peer.slice(1)}.7/tcp/4001`)
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    const [outcome] = await ownerOn(federation).put([join(dir.path, 'a.bin')], 3, () => {})
    assert.deepEqual([outcome!.holders.length, outcome!.underReplicated, outcome!.underDiversified], [3, false, false])
  })
})
