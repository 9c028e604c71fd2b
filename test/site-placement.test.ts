import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { choosePlacement, chooseShardPlacement, placementGroupShare, ShardPlacementError, type PlacementCandidate } from '../src/domain/membership/placement.ts'
import { placementGroupsOf } from '../src/domain/membership/placement-groups.ts'
import { seededRandom } from './helpers/seeded-random.ts'

const MB = 1e6
const DAY = 24 * 3_600_000
const NOW = 1_800_000_000_000
/** An established peer with a public address in subnet 203.0.net.0/24. */
const node = (id: string, net: number, extra: Partial<PlacementCandidate> = {}): PlacementCandidate => ({
  peerId: id, freeBytes: 100 * MB, reachable: true, firstSeen: NOW - 30 * DAY, probes: 100, successes: 100,
  addresses: [`/ip4/203.0.${net}.1/tcp/4101`], ...extra
})
const siteOf = (candidates: PlacementCandidate[], id: string): string | undefined => candidates.find((c) => c.peerId === id)!.site

describe('declared sites in placement: strict for trusted peers, never a lever for a Sybil', () => {
  it('the group share: a third of the holders, at least 1, and at most the parity of a stripe', () => {
    assert.equal(placementGroupShare(3), 1)
    assert.equal(placementGroupShare(6, { parity: 2 }), 2)
    assert.equal(placementGroupShare(30, { parity: 6 }), 6)
    assert.equal(placementGroupShare(2, { parity: 1 }), 1)
    assert.equal(placementGroupShare(8, { maxSubnetShare: 0.5 }), 4)
  })

  it('trusted peers of one site hold at most the group share of a file, replicas or shards, even when nothing else fits', () => {
    // 3 sites of 3 trusted boxes, each box on its own ISP: only the site ties them
    const federation = ['berlin', 'paris', 'lyon'].flatMap((site, s) => Array.from({ length: 3 }, (_, i) => node(`${site}${i}`, 10 * s + i, { site, trusted: true })))
    const random = seededRandom(11)
    for (let run = 0; run < 200; run++) {
      const shards = chooseShardPlacement(federation, { shards: 6, parity: 2, neededBytes: MB, now: NOW, random })
      const replicas = choosePlacement(federation, { replicas: 3, neededBytes: MB, now: NOW, random })
      for (const [holders, cap] of [[shards.holders, placementGroupShare(6, { parity: 2 })], [replicas.holders, placementGroupShare(3)]] as const) {
        assert.equal(new Set(holders).size, holders.length)
        for (const site of ['berlin', 'paris', 'lyon']) assert.ok(holders.filter((h) => siteOf(federation, h) === site).length <= cap, `${site} over ${cap}`)
      }
    }
    // one site short: strict, so the stripe is refused rather than given three shards in one flat
    const twoSites = federation.filter((c) => c.site !== 'lyon')
    assert.throws(() => chooseShardPlacement(twoSites, { shards: 6, parity: 2, neededBytes: MB, now: NOW }), ShardPlacementError)
  })

  it('attack: a Sybil holding a copy and claiming a trusted peer\'s site does not keep that peer out of the repair', () => {
    // the file had 3 copies; the Sybil claiming "berlin" still holds one, two are to be placed,
    // and the federation's only candidates left are the trusted berlin box and one other
    const sybil = node('sybil', 99, { site: 'berlin' })
    const berlin = node('berlin0', 1, { site: 'berlin', trusted: true })
    const other = node('paris0', 2, { site: 'paris', trusted: true })
    const placement = choosePlacement([berlin, other], { replicas: 2, neededBytes: MB, placed: [sybil], now: NOW, random: seededRandom(1) })
    assert.deepEqual([...placement.holders].sort(), ['berlin0', 'paris0'], 'were the claim strict, berlin would be full and the file one copy short')
    assert.equal(placement.underReplicated, false)
    // the claim groups trusted peers only under the trusted peers' key
    assert.deepEqual(placementGroupsOf(sybil.addresses!, 'berlin', false), { strict: ['ip4:203.0.99'], soft: ['claimed site berlin'] })
    assert.deepEqual(placementGroupsOf(berlin.addresses!, 'berlin', true).strict, ['ip4:203.0.1', 'site berlin'])
  })

  it('attack: 20 Sybils claiming a trusted peer\'s site do not lower its share of placements', () => {
    const honest = [node('berlin0', 1, { site: 'berlin', trusted: true }), node('paris0', 2, { site: 'paris', trusted: true }), node('lyon0', 3, { site: 'lyon', trusted: true })]
    const sybils = (site?: string): PlacementCandidate[] => Array.from({ length: 20 }, (_, i) => node(`s${i}`, 100 + i, { freeBytes: 8e15, ...(site === undefined ? {} : { site }) }))
    const chosen = (candidates: PlacementCandidate[]): number => {
      const random = seededRandom(7)
      let times = 0
      for (let run = 0; run < 400; run++) {
        const { holders, underReplicated } = choosePlacement(candidates, { replicas: 3, neededBytes: MB, now: NOW, random })
        assert.equal(underReplicated, false)
        if (holders.includes('berlin0')) times++
      }
      return times
    }
    const quiet = chosen([...sybils(), ...honest])
    const claiming = chosen([...sybils('berlin'), ...honest])
    assert.ok(claiming >= quiet, `berlin0 chosen ${claiming} times of 400 with the claim, ${quiet} without`)
  })

  it('attack: Sybils claiming an honest stranger\'s site cannot make a tight federation refuse a stripe', () => {
    // 7 nodes for a 4+2 stripe; the stranger of "berlin" and 3 Sybils claiming berlin would be
    // 4 in one strict group of share 2, leaving 5 eligible: ShardPlacementError. Soft, they wait and then fill.
    const stranger = node('berlin0', 1, { site: 'berlin' })
    const others = [2, 3, 4].map((net) => node(`n${net}`, net))
    const sybils = [50, 51, 52].map((net) => node(`s${net}`, net, { site: 'berlin', freeBytes: 8e15 }))
    const random = seededRandom(3)
    for (let run = 0; run < 100; run++) {
      const { holders, underDiversified } = chooseShardPlacement([...sybils, stranger, ...others], { shards: 6, parity: 2, neededBytes: MB, now: NOW, random })
      assert.equal(holders.length, 6)
      for (const id of ['n2', 'n3', 'n4']) assert.ok(holders.includes(id), 'every peer of another group is drawn before the claimed site fills past its share')
      assert.equal(underDiversified, true, 'and the placement says the claimed site holds more than its share')
    }
  })
})
