import { multiaddr } from '@multiformats/multiaddr'
import type { Reachability } from '../../app/federation-status.ts'
import type { NodeAddress } from './node-addresses.ts'

/**
 * Where an address can be dialled from. Only `public` (and a DNS name, which may point
 * anywhere) can be reached from the internet; documentation ranges (RFC 5737, RFC 3849)
 * are what examples and test labs use, never a real host.
 */
export type AddressScope = 'relayed' | 'loopback' | 'private' | 'link-local' | 'cgnat' | 'documentation' | 'reserved' | 'dns' | 'public'

const V4_RANGES: Array<[string, number, AddressScope]> = [
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['169.254.0.0', 16, 'link-local'],
  ['100.64.0.0', 10, 'cgnat'],
  ['192.0.2.0', 24, 'documentation'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['0.0.0.0', 8, 'reserved'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['224.0.0.0', 4, 'reserved'], // multicast
  ['240.0.0.0', 4, 'reserved'] // future use and broadcast
]

const V4_NETS = V4_RANGES.map(([net, bits, scope]) => ({ net: ipv4Number(net), bits, scope }))

function ipv4Number (ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0)
}

/** The scope of a multiaddr; unparseable text counts as `reserved` (never dialled as public). */
export function addressScope (addr: string): AddressScope {
  if (isRelayed(addr)) return 'relayed'
  let first
  try {
    first = multiaddr(addr).getComponents()[0]
  } catch {
    return 'reserved'
  }
  if (first?.name === 'ip4' && first.value !== undefined) {
    const n = ipv4Number(first.value)
    return V4_NETS.find(({ net, bits }) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(net / 2 ** (32 - bits)))?.scope ?? 'public'
  }
  if (first?.name === 'ip6' && first.value !== undefined) {
    const v = first.value.toLowerCase()
    if (v === '::1') return 'loopback'
    if (v === '::' || v.startsWith('ff')) return 'reserved'
    if (/^f[cd]/.test(v)) return 'private'
    if (/^fe[89ab]/.test(v)) return 'link-local'
    if (/^2001:0?db8:/.test(v)) return 'documentation'
    return 'public'
  }
  return first?.name?.startsWith('dns') === true ? 'dns' : 'reserved'
}

/** Does the address go through a circuit relay? */
export function isRelayed (addr: string): boolean {
  return addr.includes('/p2p-circuit')
}

/**
 * Could a host on the internet dial this address directly? False for relayed, private,
 * loopback, link-local, CGNAT, documentation and reserved addresses; DNS names count as public.
 */
export function isPublicAddress (addr: string): boolean {
  const scope = addressScope(addr)
  return scope === 'public' || scope === 'dns'
}

/**
 * How the internet can reach this node, judged from the address manager: a public
 * address counts as confirmed only when libp2p verified it (AutoNAT dial-backs of an
 * observed address, a UPnP mapping or a configured forward), an operator's
 * `publicAddresses` only as configured until then, and nothing private ever counts.
 */
export function reachabilityOf (known: readonly NodeAddress[], relayed: readonly string[]): Reachability {
  const direct = known.filter((a) => !isRelayed(a.multiaddr))
  const confirmed = direct.filter((a) => a.verified && a.type !== 'announce' && isPublicAddress(a.multiaddr)).map((a) => a.multiaddr)
  if (confirmed.length > 0) return { state: 'public', addresses: confirmed, why: 'a peer outside the LAN dialled this address back (AutoNAT)' }
  const configured = direct.filter((a) => a.type === 'announce' && isPublicAddress(a.multiaddr)).map((a) => a.multiaddr)
  if (configured.length > 0) return { state: 'configured', addresses: configured, why: 'set in publicAddresses; no peer has confirmed it yet' }
  const unconfirmed = direct.filter((a) => isPublicAddress(a.multiaddr)).map((a) => a.multiaddr)
  // behind NAT peers see the router's public address, which nobody can dial back: a relay
  // reservation is the better evidence then, and the address is named in the reason
  if (unconfirmed.length > 0 && relayed.length === 0) return { state: 'unconfirmed', addresses: unconfirmed, why: 'a public address, not yet dialled back by peers in enough networks (AutoNAT)' }
  const notPublic = [...new Set(direct.map((a) => a.multiaddr).filter((a) => !isWildcard(a)).map((a) => `${a} is ${scopeWords(addressScope(a))}`))]
  const detail = notPublic.length === 0 ? 'no direct address' : notPublic.join('; ')
  if (relayed.length > 0) return { state: 'relayed', addresses: [...relayed], why: `only through relays: ${detail}` }
  return { state: 'none', addresses: [], why: detail }
}

function isWildcard (addr: string): boolean {
  return addr.startsWith('/ip4/0.0.0.0/') || addr.startsWith('/ip6/::/')
}

function scopeWords (scope: AddressScope): string {
  switch (scope) {
    case 'private': return 'a private LAN address'
    case 'cgnat': return 'a carrier-grade NAT address (100.64/10)'
    case 'documentation': return 'a documentation-range address (not on the internet)'
    case 'link-local': return 'link-local'
    case 'loopback': return 'loopback'
    case 'reserved': return 'a reserved address'
    case 'relayed': return 'relayed'
    default: return 'a public address no peer has dialled back (AutoNAT)'
  }
}
