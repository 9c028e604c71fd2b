import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseDuration } from '../src/domain/config/duration.ts'
import { announceTopic, checkFederationName, dhtProtocol, mdnsServiceTag } from '../src/domain/membership/federation.ts'
import { DEFAULT_CONFIG, InvalidResumeGraceError, parseNodeConfig, parseSite } from '../src/domain/config/node-config.ts'
import { EXIT, exitCodeFor } from '../src/cli/exit-codes.ts'
import { InvalidSiteError } from '../src/domain/membership/site.ts'
import { ConfigError } from '../src/errors.ts'

const PEER = '12D3KooWLjhy8CtA23PixKThNYSjm3Ef1EEvGGaN5edrQzMWpDZJ'

describe('node config: federation settings', () => {
  it('defaults: mDNS on, federation quloud, no bootstrap, auto DHT, NAT extras off', () => {
    const config = parseNodeConfig({})
    assert.deepEqual(config, DEFAULT_CONFIG)
    assert.equal(config.mdns, true)
    assert.equal(config.federation, 'quloud')
    assert.equal(config.dhtMode, 'auto')
    assert.equal(config.relayServer, false)
    assert.equal(config.upnp, false)
    assert.equal(config.livenessInterval, 30_000)
    // a parsed config written back (init writes DEFAULT_CONFIG) reads the same
    assert.deepEqual(parseNodeConfig(JSON.parse(JSON.stringify(config))), config)
  })

  it('parses federation, bootstrap, booleans and durations', () => {
    const config = parseNodeConfig({
      federation: 'family-net',
      mdns: false,
      bootstrap: [`/ip4/203.0.113.7/tcp/4101/p2p/${PEER}`, `/dns4/nas.example.org/tcp/4101/p2p/${PEER}`],
      dhtMode: 'server',
      relayServer: true,
      upnp: true,
      announceInterval: '2m',
      livenessInterval: '500ms',
      pingTimeout: 2500,
      unreachableAfterFailures: 5,
      unreachableAfter: '1.5m',
      peerBookSize: 200,
      peerStaleAfter: '24h',
      newPeersPerRelay: 2,
      unverifiedPeers: 16,
      publicAddresses: ['/ip4/203.0.113.7/tcp/4101']
    })
    assert.deepEqual(config.publicAddresses, ['/ip4/203.0.113.7/tcp/4101'])
    assert.equal(config.federation, 'family-net')
    assert.equal(config.mdns, false)
    assert.equal(config.bootstrap.length, 2)
    assert.equal(config.dhtMode, 'server')
    assert.equal(config.announceInterval, 120_000)
    assert.equal(config.livenessInterval, 500)
    assert.equal(config.pingTimeout, 2500)
    assert.equal(config.unreachableAfterFailures, 5)
    assert.equal(config.unreachableAfter, 90_000)
    assert.equal(config.peerBookSize, 200)
    assert.equal(config.peerStaleAfter, 24 * 3_600_000)
    assert.equal(config.newPeersPerRelay, 2)
    assert.equal(config.unverifiedPeers, 16)
  })

  it('defaults the peer-book limits to values that hold against a flood', () => {
    const config = parseNodeConfig({})
    assert.deepEqual([config.peerBookSize, config.peerStaleAfter, config.newPeersPerRelay, config.unverifiedPeers], [1000, 3 * 24 * 3_600_000, 32, 64])
  })

  it('rejects bad values with ConfigError', () => {
    const bad: Array<Record<string, unknown>> = [
      { federation: 'Has Spaces' },
      { federation: 'ipfs' },
      { federation: '-x' },
      { mdns: 'yes' },
      { bootstrap: '/ip4/1.2.3.4/tcp/1' },
      { bootstrap: ['/ip4/1.2.3.4/tcp/1'] },
      { bootstrap: ['not a multiaddr'] },
      { dhtMode: 'always' },
      { announceInterval: '10 parsecs' },
      { livenessInterval: 10 },
      { pingTimeout: -1 },
      { unreachableAfterFailures: 0 },
      { unreachableAfterFailures: 1.5 },
      { peerBookSize: 5 },
      { peerBookSize: 1e9 },
      { peerStaleAfter: '10s' },
      { newPeersPerRelay: 0 },
      { unverifiedPeers: 'many' },
      { relayServer: 1 },
      { publicAddresses: '/ip4/203.0.113.7/tcp/4101' },
      { publicAddresses: [`/ip4/203.0.113.7/tcp/4101/p2p/${PEER}`] }
    ]
    for (const raw of bad) assert.throws(() => parseNodeConfig(raw), { name: 'ConfigError' }, JSON.stringify(raw))
  })

  it('derives the federation names', () => {
    assert.equal(dhtProtocol('quloud'), '/quloud/kad/1.0.0')
    assert.equal(announceTopic('quloud'), '/quloud/quloud/announce/1')
    assert.equal(mdnsServiceTag('lab'), '_quloud-lab._udp.local')
    assert.equal(checkFederationName('a'), 'a')
    assert.throws(() => checkFederationName('a'.repeat(33)), { name: 'InvalidInputError' })
  })

  it('parses durations', () => {
    assert.equal(parseDuration(1500), 1500)
    assert.equal(parseDuration('30s'), 30_000)
    assert.equal(parseDuration('250ms'), 250)
    assert.equal(parseDuration('1h'), 3_600_000)
    assert.throws(() => parseDuration('5'), { name: 'InvalidInputError' })
    assert.throws(() => parseDuration(Infinity), { name: 'InvalidInputError' })
  })
  it('parses the lease timers: spans past a timer\'s limit, and a renewal inside half the lease', () => {
    const config = parseNodeConfig({ leaseDuration: '90d', leaseTrash: '30d', leaseRenewEvery: '2d', leaseSweepEvery: '10m' })
    assert.deepEqual([config.leaseDuration, config.leaseTrash, config.leaseRenewEvery, config.leaseSweepEvery], [90 * 86_400_000, 30 * 86_400_000, 2 * 86_400_000, 600_000])
    assert.equal(DEFAULT_CONFIG.leaseRenewEvery * 2 <= DEFAULT_CONFIG.leaseDuration, true)
    assert.throws(() => parseNodeConfig({ leaseDuration: '2s', leaseRenewEvery: '1500ms' }), { name: 'ConfigError' })
    assert.throws(() => parseNodeConfig({ leaseSweepEvery: '30d' }), { name: 'ConfigError' })
    assert.equal(parseNodeConfig({ leaseDuration: '2s', leaseRenewEvery: '1s', leaseTrash: 0 }).leaseTrash, 0)
  })

  it('takes resumeGrace: a duration from 0 to 365 days (past a timer\'s limit), in effect at most leaseDuration; anything else is an InvalidResumeGraceError (a ConfigError, exit 7)', () => {
    assert.equal(parseNodeConfig({}).resumeGrace, 24 * 3_600_000)
    assert.equal(parseNodeConfig({ resumeGrace: '2h' }).resumeGrace, 2 * 3_600_000)
    assert.equal(parseNodeConfig({ resumeGrace: 0 }).resumeGrace, 0, '0 keeps nothing for a resume')
    assert.equal(parseNodeConfig({ leaseDuration: '90d', resumeGrace: '40d' }).resumeGrace, 40 * 86_400_000)
    // holders collect what no catalogue references after a lease: a longer grace would wait for nothing
    assert.equal(parseNodeConfig({ leaseDuration: '20s', leaseRenewEvery: '2s' }).resumeGrace, 20_000)
    assert.equal(parseNodeConfig({ leaseDuration: '20s', leaseRenewEvery: '2s', resumeGrace: '24h' }).resumeGrace, 20_000, 'a config init wrote whole, its lease shortened later, still starts')
    for (const bad of [{ resumeGrace: '366d' }, { resumeGrace: 'soon' }, { resumeGrace: -1 }, { resumeGrace: true }]) {
      assert.throws(() => parseNodeConfig(bad), (err: unknown) => {
        assert.ok(err instanceof InvalidResumeGraceError, `${JSON.stringify(bad)}: ${String(err)}`)
        assert.ok(err instanceof ConfigError)
        assert.equal(exitCodeFor((err as InvalidResumeGraceError).code), EXIT.config)
        return true
      })
    }
  })

  it('takes a site: short, printable, one spelling; anything else is an InvalidSiteError (a ConfigError) naming the rule', () => {
    assert.equal(parseNodeConfig({}).site, undefined, 'unset: no site declared')
    assert.equal(parseNodeConfig({ site: 'home-berlin' }).site, 'home-berlin')
    assert.equal(parseNodeConfig({ site: 'flat.3_b' }).site, 'flat.3_b')
    assert.equal(parseSite('a'.repeat(32), '--site'), 'a'.repeat(32))
    for (const bad of ['', 'Home-Berlin', 'home berlin', 'home-', '.home', 'a'.repeat(33), 'zürich', 'a"b', 'a\nb', 7, null, ['home']]) {
      assert.throws(() => parseNodeConfig({ site: bad }), (err: unknown) => {
        assert.ok(err instanceof InvalidSiteError, String(err))
        assert.ok(err instanceof ConfigError, 'start and config report it as the config error it is')
        assert.match((err as Error).message, /config: "site": a site is 1-32 characters/)
        return true
      }, JSON.stringify(bad))
    }
    assert.throws(() => parseSite('Home', '--site'), /--site: "site"/)
  })
})
