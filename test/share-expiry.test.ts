import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}
const HOUR = 3_600_000

describe('shares: records, expiry and revocation (in-memory federation, a controlled clock)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  let now = Date.UTC(2026, 11, 1)
  let owner: OwnerService
  let friend: OwnerService

  const ownerOn = (master: Uint8Array): OwnerService => {
    const deps = { master, federation, log: silentLoggerFactory('test') }
    return new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 2, now: () => now }), { now: () => now })
  }

  before(async () => {
    dir = await tempDir()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    owner = ownerOn(randomBytes(32))
    friend = ownerOn(randomBytes(32))
    await writeFile(join(dir.path, 'a.txt'), randomBytes(70_000))
    await writeFile(join(dir.path, 'b.txt'), randomBytes(70_000))
    await owner.put([join(dir.path, 'a.txt'), join(dir.path, 'b.txt')], 2, quiet)
  })
  after(async () => { await dir.cleanup() })

  it('records each share with its label and expiry; every share of one file is the same code', async () => {
    const first = await owner.share('a.txt', { label: 'alice', expiresAt: now + HOUR })
    const second = await owner.share('a.txt', { label: 'bob' })
    assert.equal(first.code, second.code)
    assert.equal(second.earlier, 1)
    const [shared] = await owner.shares()
    assert.deepEqual(shared!.shares.map((s) => [s.label, s.expiresAt]), [['alice', now + HOUR], ['bob', undefined]])
    await assert.rejects(owner.share('a.txt', { expiresAt: now - 1 }), { name: 'InvalidInputError' })
    await assert.rejects(owner.share('a.txt', { label: 'x'.repeat(201) }), { name: 'InvalidInputError' })
  })

  it('an expired share is revoked by the expiry sweep: the old code fetches nothing, a new one works', async () => {
    const { code } = await owner.share('b.txt', { label: 'carol', expiresAt: now + HOUR })
    await friend.receive(code, { cwd: dir.path, output: join(dir.path, 'before-expiry.txt') }, quiet)
    assert.deepEqual(await owner.expireShares(), [], 'nothing is due before the expiry')
    now += 2 * HOUR
    const revoked = await owner.expireShares()
    // a.txt had a share expiring within the hour too
    assert.deepEqual(revoked.map((r) => r.name).sort(), ['a.txt', 'b.txt'])
    await assert.rejects(friend.receive(code, { cwd: dir.path, output: join(dir.path, 'after-expiry.txt') }, quiet), { name: 'FileUnavailableError' })
    const renewed = await owner.share('b.txt')
    assert.notEqual(renewed.code, code)
    await friend.receive(renewed.code, { cwd: dir.path, output: join(dir.path, 'renewed.txt') }, quiet)
    assert.deepEqual(await owner.expireShares(), [], 'the sweep has nothing left to do')
  })
})
