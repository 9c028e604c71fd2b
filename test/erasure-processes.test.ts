import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chunkFiles, ProcessFederation, sha256Of } from './helpers/process-federation.ts'

const NODES = 8
const SCHEME = { data: 4, parity: 3 }

/**
 * Erasure coding over real processes: 8 daemons on 127.0.0.1, the owner `a` and seven
 * storage nodes; a file put with 4+3 is one shard per node per stripe, and reads back
 * byte-identical with any 3 of its holders stopped (here: those of three data shards,
 * so the get must decode from parity).
 */
describe(`erasure-coded files across ${NODES} node processes`, () => {
  let fed: ProcessFederation
  const names = Array.from({ length: NODES }, (_, i) => String.fromCharCode(97 + i))
  const held = async (name: string): Promise<number> => (await chunkFiles(fed.dataDir(name))).length

  before(async () => {
    fed = await ProcessFederation.create({ prefix: 'erasure', names })
    await fed.start('b')
    for (const name of names.filter((n) => n !== 'b')) await fed.start(name)
    await fed.waitForPeers('a', NODES - 1)
  })

  after(async () => {
    await fed?.close()
  })

  it(`a ${SCHEME.data}+${SCHEME.parity} file reads back byte-identical with ${SCHEME.parity} holders stopped`, async () => {
    const path = join(fed.dir, 'video.bin')
    // three stripes of four 1 MiB shards, the last one short
    await writeFile(path, randomBytes(2 * 4 * 1024 * 1024 + 333_333))
    const put = await fed.cli('a', ['put', path, '--erasure', `${SCHEME.data}+${SCHEME.parity}`, '--json'])
    assert.equal(put.code, 0, `${put.stderr}\n${fed.logs()}`)
    const [outcome] = JSON.parse(put.stdout)
    assert.equal(outcome.scheme, `${SCHEME.data}+${SCHEME.parity}`)
    assert.equal(outcome.underReplicated, false)
    // one holder per shard slot, seven slots: seven distinct nodes, so no stripe has two shards on one
    assert.equal(new Set(outcome.holders).size, SCHEME.data + SCHEME.parity)
    assert.ok(!outcome.holders.includes(fed.node('a').peerId), 'the owner stores nothing on itself')

    const whole = await fed.cli('a', ['get', outcome.id, '-o', join(fed.dir, 'whole.bin')])
    assert.equal(whole.code, 0, whole.stderr)
    assert.equal(await sha256Of(join(fed.dir, 'whole.bin')), await sha256Of(path))

    const stopped = outcome.holders.slice(0, SCHEME.parity).map((peer: string) => fed.nameOf(peer))
    for (const name of stopped) assert.equal(await fed.stop(name), 0)
    const degraded = await fed.cli('a', ['get', outcome.id, '-o', join(fed.dir, 'degraded.bin')])
    assert.equal(degraded.code, 0, `${degraded.stderr}\n${fed.logs()}`)
    assert.equal(await sha256Of(join(fed.dir, 'degraded.bin')), await sha256Of(path))
  })

  it('a scheme wider than the live federation is refused, typed, before any shard is sent', async () => {
    const live = fed.live.filter((n) => n !== 'a')
    const before = await Promise.all(live.map(async (n) => held(n)))
    const path = join(fed.dir, 'wide.bin')
    await writeFile(path, randomBytes(100_000))
    const put = await fed.cli('a', ['put', path, '--erasure', '5+3'])
    assert.notEqual(put.code, 0)
    assert.match(put.stderr, /8 shards need 8 distinct storage nodes/)
    assert.deepEqual(await Promise.all(live.map(async (n) => held(n))), before, 'no node got a byte')
  })
})
