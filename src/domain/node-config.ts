import { multiaddr } from '@multiformats/multiaddr'
import { ConfigError } from '../errors.ts'
import { parseSize } from './size.ts'

/** A node's settings: `config.json` in the data directory, overridden by `start` flags. */
export interface NodeConfig {
  /** libp2p listen multiaddrs. */
  listen: string[]
  /** host:port of the local control API; port 0 picks a free one. Loopback only. */
  api: string
  /** Bytes this node offers to the federation. */
  capacity: number
  /** Bytes any one peer may store here; unset means a quarter of the capacity. */
  peerQuota?: number
}

export const DEFAULT_CONFIG: NodeConfig = {
  listen: ['/ip4/0.0.0.0/tcp/4101'],
  api: '127.0.0.1:0',
  capacity: 10 * 2 ** 30
}

/** The per-peer quota in force for `config`. */
export function peerQuotaOf (config: NodeConfig): number {
  return config.peerQuota ?? Math.floor(config.capacity / 4)
}

/** Validates a parsed config.json (or flag overrides) into a NodeConfig. */
export function parseNodeConfig (raw: unknown, source = 'config'): NodeConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${source}: expected a JSON object`)
  }
  const input = raw as Record<string, unknown>
  const known = new Set([...Object.keys(DEFAULT_CONFIG), 'peerQuota'])
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new ConfigError(`${source}: unknown setting "${key}"`)
  }
  return {
    listen: input.listen === undefined ? DEFAULT_CONFIG.listen : parseListen(input.listen, source),
    api: input.api === undefined ? DEFAULT_CONFIG.api : parseApiAddress(input.api, source),
    capacity: input.capacity === undefined ? DEFAULT_CONFIG.capacity : parseCapacity(input.capacity, source),
    ...(input.peerQuota === undefined ? {} : { peerQuota: parseCapacity(input.peerQuota, `${source}: "peerQuota"`) })
  }
}

export function parseListen (value: unknown, source = 'config'): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(`${source}: "listen" must be a non-empty list of multiaddrs`)
  return value.map((addr) => {
    try {
      if (typeof addr !== 'string') throw new Error('not a string')
      return multiaddr(addr).toString()
    } catch (err) {
      throw new ConfigError(`${source}: not a multiaddr: ${JSON.stringify(addr)}`, { cause: err })
    }
  })
}

export function parseApiAddress (value: unknown, source = 'config'): string {
  const match = typeof value === 'string' ? /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):(\d{1,5})$/.exec(value) : null
  if (match === null || Number(match[2]) > 65535) {
    throw new ConfigError(`${source}: "api" must be a loopback HOST:PORT such as 127.0.0.1:4102, got ${JSON.stringify(value)}`)
  }
  return value as string
}

export function parseCapacity (value: unknown, source = 'config'): number {
  try {
    if (typeof value === 'number') return parseSize(String(value))
    if (typeof value === 'string') return parseSize(value)
  } catch (err) {
    throw new ConfigError(`${source}: "capacity": ${(err as Error).message}`, { cause: err })
  }
  throw new ConfigError(`${source}: "capacity" must be a size such as "500GB"`)
}
