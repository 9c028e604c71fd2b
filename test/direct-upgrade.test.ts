import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Connection, PeerId, PeerUpdate } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { DIRECT_UPGRADE_COOLDOWN_MS, DIRECT_UPGRADE_MIN_INTERVAL_MS, DIRECT_UPGRADE_RETRIES, DIRECT_UPGRADE_RETRY_MS, RELAYED_DRAIN_CHECK_MS, directUpgrade } from '../src/adapters/libp2p/direct-upgrade.ts'
import { MAX_STREAM_LIFETIME_MS } from '../src/adapters/libp2p/wire/constants.ts'

const RELAY = '/ip4/11.0.0.11/tcp/4101/p2p/12D3KooWEN5cM968xnbrfGK1rWdHkkjmy87CvETNtFwasiuVa46G/p2p-circuit'

interface FakeConnection { id?: string, remoteAddr: Multiaddr, status: string, closed: boolean, close: () => Promise<void>, abort: () => void, streams?: Array<{ protocol?: string, status: string }> }

function connection (addr: string): FakeConnection {
  const c: FakeConnection = { remoteAddr: multiaddr(addr), status: 'open', closed: false, close: async () => { c.closed = true; c.status = 'closed' }, abort: () => {} }
  return c
}

/** A relayed connection with an id and these streams on it, as `closeWhenDrained` reads them. */
function relayedWith (id: string, streams: NonNullable<FakeConnection['streams']>): FakeConnection & { streams: NonNullable<FakeConnection['streams']> } {
  const c = { ...connection(RELAY), id, streams }
  c.close = async () => { c.closed = true; c.status = 'closed' }
  return c
}

/** A DirectUpgrade over fake components: `open` are the peer's connections, `dialled` what it dials. */
async function subject (open: FakeConnection[], answer: (addrs: Multiaddr[]) => FakeConnection, addresses: string[] = []) {
  let clock = 0
  const dialled: string[][] = []
  // retries wait here, with their delays, until the test runs them
  const scheduled: Array<{ ms: number, run: () => void }> = []
  const events = new EventTarget()
  const service = directUpgrade({ now: () => clock, schedule: (run, ms) => { scheduled.push({ ms, run }); return () => {} } })({
    events,
    logger: defaultLogger(),
    connectionManager: {
      getConnections: () => open as unknown as Connection[],
      openConnection: async (addrs) => {
        dialled.push(addrs.map(String))
        const c = answer(addrs)
        open.push(c)
        return c as unknown as Connection
      }
    },
    transportManager: { dialTransportForMultiaddr: (ma) => ma.toString().includes('/tcp/') ? {} : undefined },
    peerStore: { get: async () => update(addresses).peer }
  })
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const update = (addrs: string[]): PeerUpdate => ({ peer: { id: peer, addresses: addrs.map((a) => ({ multiaddr: multiaddr(a), isCertified: false })), protocols: [], metadata: new Map(), tags: new Map() } })
  return { service, events, dialled, update, scheduled, peer: peer as PeerId, tick: (ms: number) => { clock += ms } }
}

describe('direct upgrade (DCUtR\'s unilateral case, on address change)', () => {
  it('a peer reached only through a relay that announces a public address is dialled directly and the relayed connection closed', async () => {
    const relayed = connection(`${RELAY}/p2p/12D3KooWDdyyf9nG9nj24iKv9PcW1rMj4PCEQVGZdhHaepYFWitV`)
    const { service, dialled, update } = await subject([relayed], (addrs) => connection(addrs[0]!.toString()))
    const direct = await service.maybeUpgrade(update(['/ip4/192.168.5.10/tcp/4101', '/ip4/11.0.0.25/tcp/4101', RELAY]))
    assert.equal(direct?.remoteAddr.toString(), '/ip4/11.0.0.25/tcp/4101')
    assert.deepEqual(dialled, [['/ip4/11.0.0.25/tcp/4101']], 'only the public address, never the private or relayed ones')
    assert.equal(relayed.closed, true)
  })

  it('a relayed connection that opens to a peer whose public address is already known is upgraded: the address came while there was none to upgrade', async () => {
    const open: FakeConnection[] = []
    const { service, events, dialled, update, peer } = await subject(open, (addrs) => connection(addrs[0]!.toString()), ['/ip4/11.0.0.25/tcp/4101'])
    service.start()
    try {
      // the address arrives first, with no connection open: nothing to upgrade yet
      assert.equal(await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101'])), undefined)
      assert.deepEqual(dialled, [])
      // then the peer is reached through the relay, and no update follows
      const relayed = connection(RELAY)
      open.push(relayed)
      events.dispatchEvent(new CustomEvent('connection:open', { detail: { ...relayed, remotePeer: peer } }))
      for (let i = 0; i < 20 && !relayed.closed; i++) await new Promise((resolve) => setTimeout(resolve, 5))
      assert.deepEqual(dialled, [['/ip4/11.0.0.25/tcp/4101']])
      assert.equal(relayed.closed, true, 'the relayed connection was replaced')
      // a direct connection opening is not a reason to dial
      events.dispatchEvent(new CustomEvent('connection:open', { detail: { ...connection('/ip4/11.0.0.25/tcp/4101'), remotePeer: peer } }))
      await new Promise((resolve) => setTimeout(resolve, 20))
      assert.equal(dialled.length, 1)
    } finally {
      service.stop()
    }
  })

  it('attack: a relayed peer announcing addresses again and again gets one dial per interval, not one per update', async () => {
    const relayed = connection(RELAY)
    // the "public" address does not answer: every attempt would be a dial on its behalf
    const { service, dialled, update, tick } = await subject([relayed], () => connection(RELAY))
    for (let i = 0; i < 50; i++) await service.maybeUpgrade(update([`/ip4/11.0.0.${i + 1}/tcp/4101`]))
    assert.equal(dialled.length, 1)
    assert.equal(relayed.closed, false, 'nothing replaced it')
    // new addresses after the interval: tried; the same ones again: only after the cool-down
    tick(DIRECT_UPGRADE_MIN_INTERVAL_MS)
    await service.maybeUpgrade(update(['/ip4/11.0.0.99/tcp/4101']))
    assert.equal(dialled.length, 2)
    tick(DIRECT_UPGRADE_MIN_INTERVAL_MS)
    await service.maybeUpgrade(update(['/ip4/11.0.0.99/tcp/4101']))
    assert.equal(dialled.length, 2)
    tick(DIRECT_UPGRADE_COOLDOWN_MS)
    await service.maybeUpgrade(update(['/ip4/11.0.0.99/tcp/4101']))
    assert.equal(dialled.length, 3)
  })

  it('attack: a peer we hold no relayed connection to, or a direct one already, cannot make us dial; nor can documentation, CGNAT or private addresses', async () => {
    const none = await subject([], (addrs) => connection(addrs[0]!.toString()))
    assert.equal(await none.service.maybeUpgrade(none.update(['/ip4/11.0.0.25/tcp/4101'])), undefined)
    const both = await subject([connection(RELAY), connection('/ip4/11.0.0.25/tcp/4101')], (addrs) => connection(addrs[0]!.toString()))
    assert.equal(await both.service.maybeUpgrade(both.update(['/ip4/11.0.0.25/tcp/4101'])), undefined)
    const relayed = await subject([connection(RELAY)], (addrs) => connection(addrs[0]!.toString()))
    assert.equal(await relayed.service.maybeUpgrade(relayed.update(['/ip4/198.51.100.21/tcp/4101', '/ip4/100.64.0.2/tcp/4101', '/ip4/10.0.0.2/tcp/4101', '/ip4/11.0.0.25/udp/4101'])), undefined)
    assert.deepEqual([none.dialled, both.dialled, relayed.dialled], [[], [], []])
  })

  it('attack: a peer reconnecting through the relay again and again gets one dial per interval, not one per connection', async () => {
    const open: FakeConnection[] = []
    // the announced "public" address does not answer: every attempt would be a dial on the peer's behalf
    const { service, events, dialled, peer } = await subject(open, () => connection(RELAY), ['/ip4/11.0.0.25/tcp/4101'])
    service.start()
    try {
      for (let i = 0; i < 30; i++) {
        const relayed = connection(RELAY)
        open.splice(0, open.length, relayed)
        events.dispatchEvent(new CustomEvent('connection:open', { detail: { ...relayed, remotePeer: peer } }))
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
      assert.equal(dialled.length, 1, 'one dial for 30 relayed connections within the interval')
    } finally {
      service.stop()
    }
  })

  it('a relayed connection beside a direct one is closed, on the peer\'s update and when the direct one opens; nothing is dialled', async () => {
    const relayed = connection(RELAY)
    const direct = connection('/ip4/11.0.0.25/tcp/4101')
    const { service, dialled, update } = await subject([relayed, direct], (addrs) => connection(addrs[0]!.toString()))
    assert.equal(await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101'])), undefined)
    assert.equal(relayed.closed, true, 'the relay no longer carries what the direct path can')
    assert.equal(direct.closed, false)

    const again = connection(RELAY)
    const open: FakeConnection[] = [again]
    const second = await subject(open, (addrs) => connection(addrs[0]!.toString()))
    second.service.start()
    try {
      const opened = connection('/ip4/11.0.0.25/tcp/4101')
      open.push(opened)
      second.events.dispatchEvent(new CustomEvent('connection:open', { detail: { ...opened, remotePeer: second.peer } }))
      for (let i = 0; i < 20 && !again.closed; i++) await new Promise((resolve) => setTimeout(resolve, 5))
      assert.equal(again.closed, true)
    } finally {
      second.service.stop()
    }
    assert.deepEqual([dialled, second.dialled], [[], []])
  })

  it('a relayed connection a direct one replaced is closed once no Quloud stream runs on it: a store through it is not cut', async () => {
    const store = { protocol: '/quloud/store/2.0.0', status: 'open' }
    const relayed = relayedWith('relayed-1', [store, { protocol: '/meshsub/1.1.0', status: 'open' }])
    const direct = connection('/ip4/11.0.0.25/tcp/4101')
    const { service, update, scheduled, tick } = await subject([relayed, direct], (addrs) => connection(addrs[0]!.toString()))
    await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101']))
    assert.equal(relayed.closed, false, 'a store runs on it; gossip does not count')
    assert.deepEqual(scheduled.map((s) => s.ms), [RELAYED_DRAIN_CHECK_MS])
    tick(RELAYED_DRAIN_CHECK_MS)
    scheduled.shift()!.run()
    assert.equal(relayed.closed, false, 'still storing')
    assert.equal(scheduled.length, 1, 'looked at again')
    store.status = 'closed'
    scheduled.shift()!.run()
    assert.equal(relayed.closed, true, 'the gossip stream left on it is not waited for')
    assert.equal(scheduled.length, 0)
  })

  it('a stream still negotiating on a replaced relayed connection is waited for: its protocol may be a Quloud one', async () => {
    const negotiating = { protocol: '', status: 'open' }
    const relayed = relayedWith('relayed-3', [negotiating])
    const { service, update, scheduled } = await subject([relayed, connection('/ip4/11.0.0.25/tcp/4101')], (addrs) => connection(addrs[0]!.toString()))
    await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101']))
    assert.equal(relayed.closed, false)
    negotiating.protocol = '/meshsub/1.1.0'
    scheduled.shift()!.run()
    assert.equal(relayed.closed, true, 'it turned out to be gossip')
  })

  it('a replaced relayed connection whose direct one went while it drained is kept: it is the peer\'s path again', async () => {
    const relayed = relayedWith('relayed-4', [{ protocol: '/quloud/store/2.0.0', status: 'open' }])
    const direct = connection('/ip4/11.0.0.25/tcp/4101')
    const { service, update, scheduled, tick } = await subject([relayed, direct], (addrs) => connection(addrs[0]!.toString()))
    await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101']))
    direct.status = 'closed'
    relayed.streams = []
    tick(MAX_STREAM_LIFETIME_MS)
    scheduled.shift()!.run()
    assert.equal(relayed.closed, false, 'idle and past the longest wait, but the only path left')
    assert.equal(scheduled.length, 0, 'and no longer looked at')
  })

  it('attack: a peer holding a Quloud stream open keeps a replaced relayed connection no longer than a stream may live', async () => {
    const relayed = relayedWith('relayed-2', [{ protocol: '/quloud/retrieve/2.0.0', status: 'open' }])
    const direct = connection('/ip4/11.0.0.25/tcp/4101')
    const { service, update, scheduled, tick } = await subject([relayed, direct], (addrs) => connection(addrs[0]!.toString()))
    await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101']))
    // a later update looks again but does not restart the wait
    tick(MAX_STREAM_LIFETIME_MS / 2)
    await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101']))
    assert.equal(scheduled.length, 2, 'the first look is cancelled (the fake keeps it listed), one is pending')
    tick(MAX_STREAM_LIFETIME_MS / 2)
    scheduled.pop()!.run()
    assert.equal(relayed.closed, true)
  })

  it('a failed attempt is retried on its own at 5, 10 and 20 s, then left to the peer\'s updates (still one per interval); a retry that gets through closes the relayed connection', async () => {
    const relayed = connection(RELAY)
    let answers = 0
    const { service, dialled, update, scheduled } = await subject([relayed], (addrs) => ++answers < 3 ? connection(RELAY) : connection(addrs[0]!.toString()), ['/ip4/11.0.0.25/tcp/4101'])
    await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101']))
    assert.deepEqual(scheduled.map((s) => s.ms), [DIRECT_UPGRADE_RETRY_MS])
    for (let i = 0; i < 20; i++) await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101']))
    assert.equal(dialled.length, 1, 'within the interval the peer\'s updates dial nothing, a retry pending or not')
    scheduled.shift()!.run()
    await waitUntil(() => scheduled.length === 1)
    assert.equal(dialled.length, 2)
    assert.equal(scheduled[0]!.ms, 2 * DIRECT_UPGRADE_RETRY_MS)
    scheduled.shift()!.run()
    await waitUntil(() => relayed.closed)
    assert.equal(dialled.length, 3)
    assert.equal(scheduled.length, 0, 'through: no more retries')
  })

  it('attack: an address that never answers costs at most the first dial and DIRECT_UPGRADE_RETRIES more', async () => {
    const { service, dialled, update, scheduled } = await subject([connection(RELAY)], () => connection(RELAY), ['/ip4/11.0.0.25/tcp/4101'])
    await service.maybeUpgrade(update(['/ip4/11.0.0.25/tcp/4101']))
    for (let i = 0; i < 10 && scheduled.length > 0; i++) {
      const before = dialled.length
      scheduled.shift()!.run()
      await waitUntil(() => dialled.length > before)
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.equal(dialled.length, 1 + DIRECT_UPGRADE_RETRIES)
    assert.equal(scheduled.length, 0)
  })
})

async function waitUntil (done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((resolve) => setImmediate(resolve))
  assert.ok(done(), 'the retry ran')
}
