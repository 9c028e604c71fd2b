import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { loadProofArtefacts, type ProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { startBareHost } from '../src/assembly/host.ts'
import { startOwnerSide, type OwnerSideInit } from '../src/assembly/owner-side.ts'
import { poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { sampleContext } from './helpers/proof-fixtures.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('the owner half', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let host: Libp2p
  let artefacts: ProofArtefacts
  let init: OwnerSideInit

  before(async () => {
    dir = await tempDir()
    host = await startBareHost()
    artefacts = await loadProofArtefacts()
    init = {
      host,
      master: randomBytes(32),
      artefacts,
      candidates: async () => [],
      catalogueCachePath: join(dir.path, 'catalogue.cache'),
      loggers: silentLoggerFactory
    }
  })
  after(async () => {
    await host.stop()
    await dir.cleanup()
  })

  it('fails to start when the proving key is missing, instead of at the first put', async () => {
    await assert.rejects(startOwnerSide({ ...init, artefacts: { ...artefacts, zkeyPath: join(dir.path, 'no-such.zkey') } }), { name: 'ProofGenerationError' })
  })

  it('runs background work until stop, which aborts it and waits for it before the prover closes', async () => {
    const side = await startOwnerSide(init)
    // the owner side runs its own periodic work (the share-expiry sweep) from the start
    const own = side.background.size
    const secret = 7n
    let provedWhileStopping: boolean | undefined
    side.background.run('audit', async (signal) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      // winding down may still need the prover: it must be open until this task ends
      provedWhileStopping = await side.prover.prove({ secret, commitment: poseidonCommitment(secret), context: sampleContext(1) }).then(() => true, () => false)
    })
    assert.equal(side.background.size, own + 1, 'the task is running')
    await side.stop()
    assert.equal(provedWhileStopping, true, 'the task ran to its end with a working prover')
    await assert.rejects(side.prover.prove({ secret, commitment: poseidonCommitment(secret), context: sampleContext(1) }), { name: 'ClosedError' })
    assert.throws(() => side.background.run('late', async () => {}), { name: 'ClosedError' }, 'no work starts after stop')
  })
})
