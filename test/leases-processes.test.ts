import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { NodeProcess, runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { waitFor } from './helpers/wait-for.ts'

/**
 * Short leases: a record lives 20 s unrenewed, then 5 s in the trash; owners renew
 * every 2 s and nodes sweep every second. Nothing below waits for a time: it waits for
 * the vanished owner's records to be collected, then checks the other owner's file.
 */
const TIMERS = { leaseDuration: 20_000, leaseTrash: 5000, leaseRenewEvery: 2000, leaseSweepEvery: 1000 }

async function sha256 (path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex')
}

/** How many chunk files a node's chunk store holds. */
async function chunkFiles (dataDir: string): Promise<number> {
  const root = join(dataDir, 'chunks', 'chunks')
  let count = 0
  for (const shard of await readdir(root).catch(() => [] as string[])) count += (await readdir(join(root, shard))).length
  return count
}

describe('leases across node processes: a vanished owner\'s records are collected, a present owner\'s are renewed', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = `leases-${randomBytes(4).toString('hex')}`
  const nodes = new Map<string, NodeProcess>()
  const names = ['a', 'b', 'c', 'd']
  const dataDirOf = (name: string): string => join(dir.path, name)
  const q = async (name: string, args: string[]): ReturnType<typeof runQuloud> => runQuloud([...args, '--data-dir', dataDirOf(name)], { timeoutMs: 300_000 })
  const held = async (): Promise<number> => (await Promise.all(names.map(async (n) => chunkFiles(dataDirOf(n))))).reduce((a, b) => a + b, 0)

  before(async () => {
    dir = await tempDir('quloud-leases-')
    for (const name of names) {
      const init = await runQuloud(['init', '--json', '--data-dir', dataDirOf(name)])
      assert.equal(init.code, 0, init.stderr)
      const config = join(dataDirOf(name), 'config.json')
      await writeFile(config, JSON.stringify({
        ...JSON.parse(await readFile(config, 'utf8')),
        announceInterval: 2000, livenessInterval: 1000, pingTimeout: 2000, discoveryInterval: 2000, ...TIMERS
      }))
    }
    let bootstrap: string[] = []
    for (const name of names) {
      const args = ['--federation', federation, '--no-mdns', ...(bootstrap.length > 0 ? ['--bootstrap', ...bootstrap] : [])]
      nodes.set(name, await NodeProcess.start({ dataDir: dataDirOf(name), args, startTimeoutMs: 180_000 }))
      if (bootstrap.length === 0) bootstrap = JSON.parse((await q(name, ['status', '--json'])).stdout).addresses.filter((a: string) => a.includes('/ip4/127.0.0.1/'))
    }
    for (const owner of ['a', 'd']) {
      await waitFor(async () => {
        const peers = await q(owner, ['peers', '--json'])
        return peers.code === 0 && JSON.parse(peers.stdout).live >= names.length - 1
      }, { what: `${owner} to see every other node`, timeoutMs: 240_000, intervalMs: 500 })
    }
  })

  after(async () => {
    for (const node of nodes.values()) await node.stop()
    await dir?.cleanup()
  })

  it('the records of an owner that stopped renewing are collected after lease and trash; the file of an owner that renews reads back', async () => {
    const kept = join(dir.path, 'kept.bin')
    await writeFile(kept, randomBytes(3 * 1024 * 1024 + 17))
    const putA = await q('a', ['put', kept, '--replicas', '2', '--json'])
    assert.equal(putA.code, 0, putA.stderr)
    const keptId = JSON.parse(putA.stdout)[0].id
    const withA = await held()

    const gone = join(dir.path, 'gone.bin')
    await writeFile(gone, randomBytes(2 * 1024 * 1024 + 3))
    const putD = await q('d', ['put', gone, '--replicas', '2', '--json'])
    assert.equal(putD.code, 0, putD.stderr)
    assert.ok(await held() > withA, 'd\'s file is stored on the others')
    // d vanishes: nothing renews its file or its catalogue any more
    assert.equal(await nodes.get('d')!.stop(), 0)
    nodes.delete('d')

    await waitFor(async () => await held() <= withA, { what: 'd\'s records to be collected after their lease and trash', timeoutMs: 300_000, intervalMs: 1000 })
    for (const name of ['b', 'c']) {
      const log = nodes.get(name)!.stderr
      assert.doesNotMatch(log, /lease sweep failed/, name)
    }
    // a's file was stored first and lived through the same lease and trash: only renewals kept it
    const get = await q('a', ['get', keptId, '-o', join(dir.path, 'kept.out')])
    assert.equal(get.code, 0, `${get.stderr}\n--- a ---\n${nodes.get('a')!.stderr.slice(-4000)}`)
    assert.equal(await sha256(join(dir.path, 'kept.out')), await sha256(kept))
    assert.equal(await held(), withA, 'a\'s records are all still held')
  })
})
