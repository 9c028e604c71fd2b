import { publicSubnetOf } from './subnet.ts'

/**
 * The groups a placement candidate counts in for the spread caps (placement.ts).
 *
 * - `strict`: the public /24 or /48 of each direct address (a TCP or QUIC handshake from
 *   there vouches for it) and the declared site of a peer the operator trusts. A full
 *   strict group is never exceeded.
 * - `soft`: for a peer reached only through relays, the public subnet of each relay,
 *   under the same key as that subnet's direct peers (one /24 gives an attacker one
 *   group whether its ids connect directly or through a relay it runs there); for a
 *   peer with no public address at all (private, loopback, reserved, a relay without
 *   one), the one shared group NO_PUBLIC_SUBNET. Free peer ids behind one relay, or
 *   claiming 10.0.0.1, were in no group and took every copy of a file; now they share
 *   one group's copies. Soft because honest NATed homes share relays and a LAN shares
 *   no public address: once no other group is left, placement fills from them and says
 *   the result is under-diversified rather than leave the file under-replicated.
 *   The site a peer the operator does not trust declares is soft as well, under its own
 *   key (`claimed site`), apart from the trusted peers' group of the same name.
 *
 * A site is a label anyone can copy. Were a stranger's claim strict, Sybils claiming an
 * honest peer's site would fill that site's share and keep the honest peer out: a file
 * under-replicated, or a put of shards refused, in a small federation. Soft, a claim
 * can only make the claimers (and strangers who claim the same) wait until every other
 * group is served; it never excludes a peer, and it never groups a trusted peer, whose
 * site's group only peers the operator vouched for can fill.
 */
export interface PlacementGroups {
  strict: string[]
  soft: string[]
}

/** Where every peer without a public address of its own counts, together. */
export const NO_PUBLIC_SUBNET = 'no public subnet'

export function placementGroupsOf (addresses: readonly string[], site?: string, trusted = false): PlacementGroups {
  const strict = new Set<string>()
  const soft = new Set<string>()
  for (const address of addresses) {
    if (typeof address !== 'string') continue
    const circuit = address.indexOf('/p2p-circuit')
    if (circuit < 0) {
      const subnet = publicSubnetOf(address)
      if (subnet !== undefined) strict.add(subnet)
    } else {
      soft.add(publicSubnetOf(address.slice(0, circuit)) ?? NO_PUBLIC_SUBNET)
    }
  }
  // a direct public address is the better witness: its relays say nothing more
  if (strict.size > 0) soft.clear()
  else if (soft.size === 0) soft.add(NO_PUBLIC_SUBNET)
  if (site !== undefined) (trusted ? strict : soft).add(trusted ? `site ${site}` : `claimed site ${site}`)
  return { strict: [...strict], soft: [...soft] }
}
