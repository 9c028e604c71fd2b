import { publicSubnetOf } from './subnet.ts'

/**
 * The groups a placement candidate counts in for the spread caps (placement.ts).
 *
 * - `strict`: the public /24 or /48 of each direct address (a TCP or QUIC handshake from
 *   there vouches for it) and a declared site. A full strict group is never exceeded.
 * - `soft`: for a peer reached only through relays, the public subnet of each relay,
 *   under the same key as that subnet's direct peers (one /24 gives an attacker one
 *   group whether its ids connect directly or through a relay it runs there); for a
 *   peer with no public address at all (private, loopback, reserved, a relay without
 *   one), the one shared group NO_PUBLIC_SUBNET. Free peer ids behind one relay, or
 *   claiming 10.0.0.1, were in no group and took every copy of a file; now they share
 *   one group's copies. Soft because honest NATed homes share relays and a LAN shares
 *   no public address: once no other group is left, placement fills from them and says
 *   the result is under-diversified rather than leave the file under-replicated.
 */
export interface PlacementGroups {
  strict: string[]
  soft: string[]
}

/** Where every peer without a public address of its own counts, together. */
export const NO_PUBLIC_SUBNET = 'no public subnet'

export function placementGroupsOf (addresses: readonly string[], site?: string): PlacementGroups {
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
  if (site !== undefined) strict.add(`site ${site}`)
  return { strict: [...strict], soft: [...soft] }
}
