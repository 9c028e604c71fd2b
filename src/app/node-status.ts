import type { ChunkStore } from '../ports/chunk-store.ts'
import type { NetworkStatus } from './federation-status.ts'
import { VERSION } from '../version.ts'

export interface NodeStatus {
  peerId: string
  /** Multiaddrs peers can dial, each ending in /p2p/<peerId>. */
  addresses: string[]
  /** Bytes offered to the federation. */
  capacity: number
  /** Bytes held in the chunk store. */
  usedBytes: number
  version: string
  dataDir: string
  startedAt: string
  uptimeSeconds: number
  /** How the node is reachable and how many peers it has. */
  network?: NetworkStatus
  /** Use of each node-wide resource budget, once the storage protocols are served. */
  budgets?: BudgetStatus
}

/** One node-wide budget: what is in use, of it by strangers, and the limits of both. */
export interface BudgetUse { used: number, limit: number, strangers: number, strangersLimit: number }

export interface BudgetStatus {
  /** Bytes buffered for peers. */
  memory: BudgetUse
  /** Open inbound Quloud streams. */
  streams: BudgetUse
  /** Open connections, all directions, and libp2p's high water. */
  connections: { open: number, limit: number }
}

export interface NodeStatusSources {
  peerId: () => string
  addresses: () => string[]
  capacity: number
  chunkStore: ChunkStore
  dataDir: string
  startedAt: Date
  network?: (signal?: AbortSignal) => Promise<NetworkStatus>
  budgets?: () => BudgetStatus | undefined
  now?: () => Date
}

/** The answer to `quloud status`. */
export async function nodeStatus (sources: NodeStatusSources, signal?: AbortSignal): Promise<NodeStatus> {
  const now = sources.now?.() ?? new Date()
  return {
    peerId: sources.peerId(),
    addresses: sources.addresses(),
    capacity: sources.capacity,
    usedBytes: await sources.chunkStore.usedBytes({ signal }),
    version: VERSION,
    dataDir: sources.dataDir,
    startedAt: sources.startedAt.toISOString(),
    uptimeSeconds: Math.round((now.getTime() - sources.startedAt.getTime()) / 1000),
    ...(sources.network === undefined ? {} : { network: await sources.network(signal) }),
    ...budgetsOf(sources)
  }
}

function budgetsOf (sources: NodeStatusSources): { budgets?: BudgetStatus } {
  const budgets = sources.budgets?.()
  return budgets === undefined ? {} : { budgets }
}
