import type { NodeConfig } from '../config/node-config.ts'
import type { BudgetLimits } from './resource-budget.ts'

/** The config keys the stream and memory budgets are made of. */
export type BudgetSettings = Pick<NodeConfig, 'memoryBudget' | 'peerMemoryBudget' | 'subnetMemoryBudget' | 'maxStreams' | 'maxStreamsPerPeer' | 'maxStreamsPerSubnet' | 'strangersShare' | 'strangerStreamsPerSecond' | 'strangerStreamBurst'>

/**
 * One protocol may take this share of the node: a flood of one kind (gets nobody
 * reads) leaves room for the others (stores, deletes).
 */
const PROTOCOL_SHARE = 0.75

/** The budget's limits for `settings`; `streamMemory` is what one stream's window of requests may hold. */
export function budgetLimitsOf (settings: BudgetSettings, streamMemory: number): BudgetLimits {
  return {
    node: { memory: settings.memoryBudget, streams: settings.maxStreams },
    subnet: { memory: settings.subnetMemoryBudget, streams: settings.maxStreamsPerSubnet },
    peer: { memory: settings.peerMemoryBudget, streams: settings.maxStreamsPerPeer },
    protocol: { memory: Math.max(1, Math.floor(settings.memoryBudget * PROTOCOL_SHARE)), streams: Math.max(1, Math.floor(settings.maxStreams * PROTOCOL_SHARE)) },
    streamMemory: Math.min(streamMemory, settings.peerMemoryBudget),
    strangersShare: settings.strangersShare,
    strangerStreams: { perSecond: settings.strangerStreamsPerSecond, burst: settings.strangerStreamBurst }
  }
}
