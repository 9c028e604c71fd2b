import { parseMultiaddrText } from './multiaddr-text.ts'

// Private, loopback, link-local, CGNAT, unspecified and reserved IPv4 ranges (IETF
// assignments, benchmarking, multicast, future use): hosts there share no operator with
// one another, or are no host at all, so grouping them by /24 would say nothing and a
// peer claiming one would get a subnet of its own. Documentation ranges stay public:
// tests and the NAT lab stand for the internet with them.
const PRIVATE_V4: Array<[number, number]> = [
  [0x0a000000, 8], [0xac100000, 12], [0xc0a80000, 16], [0x7f000000, 8], [0xa9fe0000, 16], [0x64400000, 10], [0x00000000, 8],
  [0xc0000000, 24], [0xc6120000, 15], [0xe0000000, 4], [0xf0000000, 4]
]

/**
 * The public subnet of a directly dialable address: `ip4:203.0.113` (its /24) or
 * `ip6:2001:db8:0` (its /48). Undefined for relayed, private, loopback, link-local
 * and DNS addresses and for text that is not a multiaddr: those say nothing about who
 * runs the host, so they put a peer in no subnet rather than in a shared one.
 */
export function publicSubnetOf (address: string): string | undefined {
  if (address.includes('/p2p-circuit')) return undefined
  let first
  try {
    first = parseMultiaddrText(address).components[0]
  } catch {
    return undefined
  }
  if (first?.value === undefined) return undefined
  if (first.name === 'ip4') return ipv4Subnet(first.value)
  if (first.name === 'ip6') return ipv6Subnet(first.value)
  return undefined
}

/**
 * The subnet a connection from `remoteAddress` is admitted under: its public subnet,
 * or for a relayed connection the relay's, marked `via:` (a relay's clients share it,
 * so identities relayed through one host cannot each take a subnet's share).
 * Undefined for private and loopback addresses.
 */
export function admissionSubnetOf (remoteAddress: string): string | undefined {
  const circuit = remoteAddress.indexOf('/p2p-circuit')
  if (circuit < 0) return publicSubnetOf(remoteAddress)
  const relay = publicSubnetOf(remoteAddress.slice(0, circuit))
  return relay === undefined ? undefined : `via:${relay}`
}

/**
 * The network a connection from `remoteAddress` is counted under by every per-network
 * bound (budgets, connections, proof admission): its admission subnet, else (loopback,
 * LAN) the address without its port, so a LAN full of cheap identities shares one.
 * One function for all of them: a relayed peer counted under its relay's /24 by one
 * bound and under the relay's bare IP by another lets relays on many addresses of one
 * /24 each open a fresh network for the second.
 */
export function admissionNetworkOf (remoteAddress: string): string {
  return admissionSubnetOf(remoteAddress) ?? remoteAddress.replace(/\/(tcp|udp)\/\d+.*$/u, '')
}

/** The distinct public subnets among `addresses`. */
export function publicSubnets (addresses: Iterable<string>): string[] {
  const subnets = new Set<string>()
  for (const address of addresses) {
    const subnet = publicSubnetOf(address)
    if (subnet !== undefined) subnets.add(subnet)
  }
  return [...subnets]
}

function ipv4Subnet (text: string): string | undefined {
  const parts = text.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
  const n = parts.reduce((acc, p) => acc * 256 + p, 0)
  if (PRIVATE_V4.some(([net, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(net / 2 ** (32 - bits)))) return undefined
  return `ip4:${parts.slice(0, 3).join('.')}`
}

/**
 * IPv6 is grouped by /48, the analogue of IPv4's /24: an ISP hands a home a /64, a /56
 * or a /48, so a /48 is one home or up to 256 neighbouring customers, as a /24 is. A /64
 * or /56 would let one home's /56 (256 /64s) or a free tunnel /48 (256 /56s) count as
 * hundreds of subnets (test/ipv6-subnet-grouping.test.ts).
 */
function ipv6Subnet (text: string): string | undefined {
  return ipv6Prefix(text, 3)
}

/** The first `groups` 16-bit groups of a public IPv6 address; an IPv4-mapped one gives its IPv4 /24. */
function ipv6Prefix (text: string, groups: number): string | undefined {
  const all = expandIpv6(text.toLowerCase())
  if (all === undefined) return undefined
  if (all.every((g) => g === 0) || (all.slice(0, 7).every((g) => g === 0) && all[7] === 1)) return undefined // :: and ::1
  const head = all[0]!
  if ((head & 0xfe00) === 0xfc00 || (head & 0xffc0) === 0xfe80 || (head & 0xff00) === 0xff00) return undefined // ULA fc00::/7, link-local fe80::/10, multicast ff00::/8
  if (all.slice(0, 5).every((g) => g === 0) && all[5] === 0xffff) {
    return ipv4Subnet(`${all[6]! >> 8}.${all[6]! & 255}.${all[7]! >> 8}.${all[7]! & 255}`) // IPv4-mapped
  }
  return `ip6:${all.slice(0, groups).map((g) => g.toString(16)).join(':')}`
}

/**
 * The /64 of a public IPv6 address, what one host (or one LAN) holds: the unit of the
 * pending-handshake limit, which is per host, not per subnet. Undefined otherwise.
 */
export function publicIpv6HostOf (address: string): string | undefined {
  let first
  try {
    first = parseMultiaddrText(address).components[0]
  } catch {
    return undefined
  }
  if (first?.name !== 'ip6' || first.value === undefined) return undefined
  return ipv6Prefix(first.value, 4)
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function expandIpv6 (text: string): number[] | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string): number[] | undefined => {
    if (part === '') return []
    const groups: number[] = []
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = g.split('.').map(Number)
        if (v4.length !== 4 || v4.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
        groups.push(v4[0]! * 256 + v4[1]!, v4[2]! * 256 + v4[3]!)
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined
        groups.push(parseInt(g, 16))
      }
    }
    return groups
  }
  const head = parse(halves[0]!)
  const tail = halves.length === 2 ? parse(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  return [...head, ...Array<number>(missing).fill(0), ...tail]
}
