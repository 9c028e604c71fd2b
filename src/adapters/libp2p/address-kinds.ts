import { multiaddr } from '@multiformats/multiaddr'

const PRIVATE_V4: Array<[number, number]> = [
  [0x0a000000, 8], // 10/8
  [0xac100000, 12], // 172.16/12
  [0xc0a80000, 16], // 192.168/16
  [0x7f000000, 8], // 127/8 loopback
  [0xa9fe0000, 16], // 169.254/16 link-local
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x00000000, 8] // 0/8 unspecified
]

/** Does the address go through a circuit relay? */
export function isRelayed (addr: string): boolean {
  return addr.includes('/p2p-circuit')
}

/**
 * Could a host on the internet dial this address directly? False for relayed,
 * private, loopback, link-local and CGNAT addresses; DNS names count as public.
 */
export function isPublicAddress (addr: string): boolean {
  if (isRelayed(addr)) return false
  let first
  try {
    first = multiaddr(addr).getComponents()[0]
  } catch {
    return false
  }
  if (first?.name === 'ip4' && first.value !== undefined) {
    const n = first.value.split('.').reduce((acc, part) => acc * 256 + Number(part), 0)
    return !PRIVATE_V4.some(([net, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(net / 2 ** (32 - bits)))
  }
  if (first?.name === 'ip6' && first.value !== undefined) {
    const v = first.value.toLowerCase()
    return !(v === '::1' || v === '::' || /^f[cd]/.test(v) || /^fe[89ab]/.test(v))
  }
  return first?.name?.startsWith('dns') === true
}
