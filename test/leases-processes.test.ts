import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chunkFiles, ProcessFederation, sha256Of } from './helpers/process-federation.ts'
import { waitFor } from './helpers/wait-for.ts'

/**
 * Short leases: a record lives 20 s unrenewed, then 5 s in the trash; owners renew
 * every 2 s and nodes sweep every second. Nothing below waits for a time: it waits for
 * the vanished owner's records to be collected, then checks the other owner's file.
 */
const TIMERS = { leaseDuration: 20_000, leaseTrash: 5000, leaseRenewEvery: 2000, leaseSweepEvery: 1000 }

describe('leases across node processes: a vanished owner\'s records are collected, a present owner\'s are renewed', () => {
  let fed: ProcessFederation
  const names = ['a', 'b', 'c', 'd']
  const held = async (): Promise<number> => (await Promise.all(names.map(async (n) => (await chunkFiles(fed.dataDir(n))).length))).reduce((a, b) => a + b, 0)

  before(async () => {
    fed = await ProcessFederation.create({ prefix: 'leases', names, config: TIMERS })
    for (const name of names) await fed.start(name)
    for (const owner of ['a', 'd']) await fed.waitForPeers(owner, names.length - 1)
  })

  after(async () => {
    await fed?.close()
  })

  it('the records of an owner that stopped renewing are collected after lease and trash; the file of an owner that renews reads back', async () => {
    const kept = join(fed.dir, 'kept.bin')
    await writeFile(kept, randomBytes(3 * 1024 * 1024 + 17))
    const putA = await fed.cli('a', ['put', kept, '--replicas', '2', '--json'])
    assert.equal(putA.code, 0, putA.stderr)
    const keptId = JSON.parse(putA.stdout)[0].id
    const withA = await held()

    const gone = join(fed.dir, 'gone.bin')
    await writeFile(gone, randomBytes(2 * 1024 * 1024 + 3))
    const putD = await fed.cli('d', ['put', gone, '--replicas', '2', '--json'])
    assert.equal(putD.code, 0, putD.stderr)
    assert.ok(await held() > withA, 'd\'s file is stored on the others')
    // d vanishes: nothing renews its file or its catalogue any more
    assert.equal(await fed.stop('d'), 0)

    await waitFor(async () => await held() <= withA, { what: 'd\'s records to be collected after their lease and trash', timeoutMs: 300_000, intervalMs: 1000 })
    for (const name of ['b', 'c']) {
      const log = fed.node(name).stderr
      assert.doesNotMatch(log, /lease sweep failed/, name)
    }
    // a's file was stored first and lived through the same lease and trash: only renewals kept it
    const get = await fed.cli('a', ['get', keptId, '-o', join(fed.dir, 'kept.out')])
    assert.equal(get.code, 0, `${get.stderr}\n${fed.logs()}`)
    assert.equal(await sha256Of(join(fed.dir, 'kept.out')), await sha256Of(kept))
    assert.equal(await held(), withA, 'a\'s records are all still held')
  })
})
