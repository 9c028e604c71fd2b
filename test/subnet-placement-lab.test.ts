import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startLabNode } from './helpers/netns-home-lab.ts'
import { labUnavailable, NetnsLab, sweepStaleLabs } from './helpers/netns-lab.ts'
import type { NetnsNode } from './helpers/netns-node.ts'
import { assertSpreadOverThree, type PutOutcome } from './helpers/placement-spread.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { waitFor } from './helpers/wait-for.ts'

/**
 * The subnet limit of issue 13 over real processes: on loopback every daemon shares one
 * group, so here 8 daemons stand in network namespaces of their own on one bridge, with
 * public addresses in three /24s: the owner in 11.0.9.0/24, seven storage nodes 3 + 2 + 2
 * in 11.0.1, 11.0.2 and 11.0.3. No site is declared and nobody is trusted: the /24s alone
 * must keep any one network from holding more than its share of a file.
 */
const PORT = 4101
const OWNER = { o: '11.0.9.10' }
const STORAGE: Record<string, string> = { s1: '11.0.1.10', s2: '11.0.1.11', s3: '11.0.1.12', s4: '11.0.2.10', s5: '11.0.2.11', s6: '11.0.3.10', s7: '11.0.3.11' }
const subnetOf = (ip: string): string => ip.split('.').slice(0, 3).join('.')
const unavailable = labUnavailable()

describe('placement across public /24s, over 8 daemons in network namespaces', { skip: unavailable, timeout: 900_000 }, () => {
  let lab: NetnsLab
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = `subnets-${randomBytes(4).toString('hex')}`
  const nodes = new Map<string, NetnsNode>()
  const subnetOfPeer = new Map<string, string>()
  const logs = (): string => [...nodes.values()].map((n) => `--- ${n.name} ---\n${n.stderr.split('\n').slice(-40).join('\n')}`).join('\n')

  before(async () => {
    dir = await tempDir('quloud-subnets-')
    await sweepStaleLabs()
    lab = new NetnsLab()
    await lab.addNamespace('pub')
    await lab.bridge('pub', 'br0')
    for (const [role, ip] of Object.entries({ ...OWNER, ...STORAGE })) {
      await lab.addNamespace(role)
      // one flat segment: a /16 on every node, so the /24s reach each other with no router
      await lab.link({ role, ifname: 'eth0', address: `${ip}/16` }, { role: 'pub', ifname: role, bridge: 'br0' })
    }
    const listen = ['--listen', `/ip4/0.0.0.0/tcp/${PORT}`, '--no-mdns']
    const first = await startLabNode(lab, dir.path, federation, 's1', listen)
    nodes.set('s1', first)
    const bootstrap = ['--bootstrap', `/ip4/${STORAGE.s1}/tcp/${PORT}/p2p/${first.peerId}`]
    for (const name of [...Object.keys(STORAGE).filter((n) => n !== 's1'), 'o']) nodes.set(name, await startLabNode(lab, dir.path, federation, name, [...listen, ...bootstrap]))
    for (const [name, ip] of Object.entries(STORAGE)) subnetOfPeer.set(nodes.get(name)!.peerId, subnetOf(ip))
    await waitFor(async () => (await nodes.get('o')!.json<{ live: number }>(['peers'])).live >= Object.keys(STORAGE).length,
      { what: 'the owner to see the seven storage nodes live', timeoutMs: 300_000, intervalMs: 1000 })
      .catch((err: Error) => { throw new Error(`${err.message}\n${logs()}`) })
  })

  after(async () => {
    for (const n of nodes.values()) await n.stop().catch(() => {})
    await lab?.destroy()
    await dir?.cleanup()
  })

  for (const [label, args, holders, parity] of [
    ['a 4+2 file', ['--erasure', '4+2'], 6, 2],
    ['3 replicas', ['--replicas', '3'], 3, undefined],
    ['a 2+1 file', ['--erasure', '2+1'], 3, 1]
  ] as const) {
    it(`${label}: never two pieces on one node, and no /24 over its share`, async () => {
      const owner = nodes.get('o')!
      const name = `${label.replace(/\W+/g, '-')}.bin`
      const path = join(dir.path, name)
      await writeFile(path, randomBytes(150_000))
      const put = await owner.cli(['put', path, ...args, '--json'], 300_000)
      assert.equal(put.code, 0, `${put.stderr}\n${logs()}`)
      const [outcome] = JSON.parse(put.stdout) as PutOutcome[]
      assertSpreadOverThree(outcome!, holders, parity, subnetOfPeer, '/24')
      const out = join(dir.path, `${name}.out`)
      const get = await owner.cli(['get', outcome!.id, '-o', out], 300_000)
      assert.equal(get.code, 0, get.stderr)
      assert.deepEqual(await readFile(out), await readFile(path))
    })
  }
})
