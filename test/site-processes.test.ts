import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { assertSpreadOverThree, type PutOutcome } from './helpers/placement-spread.ts'
import { ProcessFederation } from './helpers/process-federation.ts'
import { waitFor } from './helpers/wait-for.ts'

/**
 * The site limit of issue 13 over real processes: 8 daemons on 127.0.0.1, the owner `a`
 * (no site) and seven storage nodes in three declared sites, 3 + 2 + 2. The owner
 * trusts them all, so their sites are strict groups (a stranger's claim is soft:
 * placement-groups.ts, test/site-placement.test.ts). Every address is loopback, so no
 * node has a public subnet: the subnet limit over real processes is
 * subnet-placement-lab.test.ts, in network namespaces.
 *
 * The sites are set both ways (`--site` on start, `config set site`), announced in
 * version 2 announcements, kept by the owner's peer book, shown by `peers`, and
 * honoured by put: a 4+2 stripe may put 2 shards on a site and the 3 boxes of "berlin"
 * must leave one out; 3 replicas or a 2+1 stripe get one site each.
 */
const SITES: Record<string, string> = { b: 'berlin', c: 'berlin', d: 'berlin', e: 'paris', f: 'paris', g: 'lyon', h: 'lyon' }
const STORAGE = Object.keys(SITES)
const BY_FLAG = new Set(['b', 'c', 'e', 'g'])

describe('placement across declared sites, over 8 node processes', { timeout: 900_000 }, () => {
  let fed: ProcessFederation
  const siteOfPeer = new Map<string, string>()
  const q = async (name: string, args: string[]): ReturnType<ProcessFederation['cli']> => fed.cli(name, args)

  before(async () => {
    fed = await ProcessFederation.create({ prefix: 'sites', names: ['a', ...STORAGE] })
    for (const name of STORAGE.filter((n) => !BY_FLAG.has(n))) {
      const set = await q(name, ['config', 'set', 'site', SITES[name]!])
      assert.equal(set.code, 0, set.stderr)
    }
    // a site off the rule is refused before anything is written, with the config exit code
    const bad = await q('b', ['config', 'set', 'site', 'Berlin Mitte'])
    assert.equal(bad.code, 7, bad.stderr)
    assert.match(bad.stderr, /a site is 1-32 characters/)

    for (const name of ['b', 'a', ...STORAGE.filter((n) => n !== 'b')]) {
      const node = await fed.start(name, BY_FLAG.has(name) ? ['--site', SITES[name]!] : [])
      if (SITES[name] !== undefined) siteOfPeer.set(node.peerId, SITES[name])
    }
    // the owner vouches for the storage nodes: their sites become strict groups
    for (const name of STORAGE) {
      const trust = await q('a', ['trust', 'add', fed.node(name).peerId, '--quota', '1GB', '--name', name])
      assert.equal(trust.code, 0, trust.stderr)
    }
    await waitFor(async () => {
      const peers = await q('a', ['peers', '--json'])
      if (peers.code !== 0) return false
      const answer = JSON.parse(peers.stdout) as { live: number, peers: Array<{ peerId: string, site?: string }> }
      return answer.live >= STORAGE.length && [...siteOfPeer].every(([peer, site]) => answer.peers.some((p) => p.peerId === peer && p.site === site))
    }, { what: `a to see ${STORAGE.length} live peers with their sites`, timeoutMs: 300_000, intervalMs: 500 })
  })

  after(async () => {
    await fed?.close()
  })

  it('peers shows each declared site; a node declaring none shows none', async () => {
    const json = JSON.parse((await q('b', ['peers', '--json'])).stdout) as { peers: Array<{ peerId: string, site?: string }> }
    const owner = json.peers.find((p) => p.peerId === fed.node('a').peerId)
    assert.ok(owner !== undefined, 'b knows the owner')
    assert.equal(owner.site, undefined)
    const text = await q('a', ['peers'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /SITE/)
    for (const name of STORAGE) {
      const line = text.stdout.split('\n').find((l) => l.startsWith(fed.node(name).peerId))
      assert.ok(line?.includes(`  ${SITES[name]}`), `${name}: ${line}`)
    }
  })

  for (const [label, args, holders, parity] of [
    ['a 4+2 file', ['--erasure', '4+2'], 6, 2],
    ['3 replicas', ['--replicas', '3'], 3, undefined],
    ['a 2+1 file', ['--erasure', '2+1'], 3, 1]
  ] as const) {
    it(`${label}: never two pieces on one node, and no site over its share`, async () => {
      const path = join(fed.dir, `${label.replace(/\W+/g, '-')}.bin`)
      await writeFile(path, randomBytes(150_000))
      const put = await q('a', ['put', path, ...args, '--json'])
      assert.equal(put.code, 0, `${put.stderr}\n${fed.logs()}`)
      const [outcome] = JSON.parse(put.stdout) as PutOutcome[]
      assertSpreadOverThree(outcome!, holders, parity, siteOfPeer, 'site')
      const get = await q('a', ['get', outcome!.id, '-o', join(fed.dir, `${label.replace(/\W+/g, '-')}.out`)])
      assert.equal(get.code, 0, get.stderr)
      assert.deepEqual(await readFile(join(fed.dir, `${label.replace(/\W+/g, '-')}.out`)), await readFile(path))
    })
  }
})
