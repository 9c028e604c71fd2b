import { RateLimitedLogger } from '../adapters/logging/rate-limited-logger.ts'
import type { Libp2p, PrivateKey, Startable } from '@libp2p/interface'
import { FsChunkStore } from '../adapters/chunk-store/fs-chunk-store.ts'
import { DEFAULT_PEER_LIMITS, endSessionsWithConnections } from '../adapters/libp2p/protocols/federation-protocols.ts'
import { PeerLimits, type PeerLimitsInit } from '../adapters/libp2p/protocols/peer-limits.ts'
import { AuditBudget, type AuditLimits } from '../adapters/libp2p/protocols/audit-budget.ts'
import { ProofSessions } from '../adapters/libp2p/protocols/proof-sessions.ts'
import { ProofAdmission, type ProofAdmissionLimits } from '../adapters/proof/proof-admission.ts'
import type { ProtocolHost } from '../adapters/libp2p/protocols/serve-stream.ts'
import { SessionHandler } from '../adapters/libp2p/protocols/session-handler.ts'
import { StoreHandler } from '../adapters/libp2p/protocols/store-handler.ts'
import { VersionRefusalHandler } from '../adapters/libp2p/protocols/version-refusal-handler.ts'
import { DELETE_PROTOCOL, MAX_CHUNK_BYTES, MAX_DATA_FRAME_BYTES, REQUESTS_IN_PROGRESS_PER_STREAM, RETRIEVE_PROTOCOL, STORE_PROTOCOL, STREAM_WINDOW_BYTES, V1_PROTOCOLS } from '../adapters/libp2p/wire/constants.ts'
import { InboundStreamGate } from '../adapters/libp2p/protocols/inbound-stream-gate.ts'
import { StreamResources } from '../adapters/libp2p/protocols/stream-resources.ts'
import { StorePacing } from '../adapters/libp2p/protocols/store-pacing.ts'
import { StoreRate } from '../domain/resources/store-rate.ts'
import { DEFAULT_CONFIG, type NodeConfig } from '../domain/config/node-config.ts'
import { budgetLimitsOf, type BudgetSettings } from '../domain/resources/budget-limits.ts'
import { ResourceBudget } from '../domain/resources/resource-budget.ts'
import { LevelMetadataStore } from '../adapters/metadata-store/level-metadata-store.ts'
import type { NodeMetrics } from '../adapters/metrics/node-metrics.ts'
import { StorageService, type LeaseTimes } from '../app/storage-service.ts'
import { DataDirError, defineError } from '../errors.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { ChunkStore } from '../ports/chunk-store.ts'
import type { Logger, LoggerFactory } from '../ports/logger.ts'
import type { MetadataStore } from '../ports/metadata-store.ts'
import type { Verifier } from '../ports/verifier.ts'
import { BackgroundTasks } from '../app/background-tasks.ts'
import { Shutdown } from './shutdown.ts'
import { wrapChunkStore } from './wrap-chunk-store.ts'

/** `serve` was called a second time on one storage side: one set of handlers per node. */
export const AlreadyServedError = defineError('AlreadyServedError', 'already-served')

export interface StorageSideInit {
  /** Directory of the chunk files (the data directory's `chunks/`). */
  chunksDir: string
  /** LevelDB directory of the chunk records (the data directory's `metadata/`). */
  metadataDir: string
  /** This node's at-rest key (see wrapChunkStore). */
  atRestKey: Uint8Array
  /** Bytes offered to the federation. */
  capacity: number
  /** Bytes a peer may hold here (src/app/admission/allowances.ts); without it, `peerQuota` for everyone. */
  allowanceOf?: (peer: string, options?: AbortOptions) => Promise<number>
  /** The share of a stranger's subnet (src/app/admission/allowances.ts); without it, subnets are not capped. */
  subnetShareOf?: (peer: string, subnet: string) => number | undefined
  peerQuota?: number
  /** Counts bytes stored and served (the daemon's /metrics). */
  metrics?: NodeMetrics
  /** Lease timers (node-config leaseDuration, leaseTrash, leaseSweepEvery); the defaults where left out. */
  leases?: Partial<LeaseTimes & { sweepEveryMs: number }>
  loggers: LoggerFactory
}

/** Records one sweep round weighs: a round's work is bounded, the next round goes on. */
const LEASE_SWEEP_LIMIT = 1000

export interface StorageServeInit {
  host: ProtocolHost & Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getConnections'>
  /** Signs store receipts; the host's own identity. */
  privateKey: PrivateKey
  verifier: Verifier
  limits?: Partial<PeerLimitsInit>
  /** Memory and stream budgets (node-config keys); the defaults where left out. */
  budgets?: Partial<BudgetSettings & Pick<NodeConfig, 'writeDrainTimeout' | 'strangerStoreRate' | 'strangersStoreRate'>>
  /** Trusted and reciprocal peers, kept out of the strangers' share; without it every peer is a stranger. */
  isKnownPeer?: (peer: string) => boolean
  /** Peers that prove ahead of strangers and past their bounds; without it, `isKnownPeer`. */
  hasStanding?: (peer: string) => boolean
  proofAdmission?: Partial<ProofAdmissionLimits>
  /** Audits a second per stranger, per network of strangers and per known peer; DEFAULT_AUDIT_LIMITS where left out. */
  auditLimits?: AuditLimits
  challengeTtlMs?: number
  sessionTtlMs?: number
  idleTimeoutMs?: number
}

/** The storage half: what this node keeps for others, and (once served) the protocols that reach it. */
export interface StorageSide {
  /** The wrapped store (at-rest encrypted); usage and status read it. */
  chunkStore: ChunkStore
  metadata: MetadataStore
  storage: StorageService
  /** Storage-side work that runs while the half lives (orphan collection). */
  background: BackgroundTasks
  /**
   * Starts the store, retrieve and delete handlers on `host` (and the refusals of their
   * version 1 ids), sharing one set of
   * per-peer limits and proof sessions, once per half. Resolves to the stop of the
   * handlers alone, so a daemon can remove them before it stops the host; `stop`
   * removes them too if they are still there.
   */
  serve (init: StorageServeInit): Promise<() => Promise<void>>
  /** The node-wide use of the memory and stream budgets, once served. */
  budgetUsage (): BudgetUsage | undefined
  /** Stops the handlers and background work, then closes the stores. */
  stop (): Promise<void>
}

export type BudgetUsage = ReturnType<ResourceBudget['nodeUsage']>

/**
 * Opens the storage half: the fs chunk store wrapped for this node, the LevelDB
 * records, the StorageService over both, and orphan collection in the background.
 * Opening needs no network, so the daemon can offer the store's usage to membership
 * before the host exists; `serve` then puts it on the host.
 */
export async function openStorageSide (init: StorageSideInit): Promise<StorageSide> {
  const log = init.loggers('storage')
  const shutdown = new Shutdown(log)
  try {
    const metadata = await LevelMetadataStore.open({ location: init.metadataDir }).catch((err) => {
      throw new DataDirError(`cannot open ${init.metadataDir}; is another daemon running on this data directory? (${err?.cause?.cause?.code ?? err?.message})`, { cause: err })
    })
    shutdown.push(async () => metadata.close())
    const chunkStore = wrapChunkStore(await FsChunkStore.open({ root: init.chunksDir }), { atRestKey: init.atRestKey, metrics: init.metrics })
    shutdown.push(async () => chunkStore.close())
    const storage = new StorageService({
      chunkStore,
      metadata,
      capacity: init.capacity,
      allowanceOf: init.allowanceOf ?? (async () => init.peerQuota ?? init.capacity),
      ...(init.subnetShareOf === undefined ? {} : { subnetShareOf: init.subnetShareOf }),
      maxChunkBytes: MAX_CHUNK_BYTES,
      leases: {
        durationMs: init.leases?.durationMs ?? DEFAULT_CONFIG.leaseDuration,
        trashMs: init.leases?.trashMs ?? DEFAULT_CONFIG.leaseTrash
      }
    })
    const background = new BackgroundTasks(log)
    shutdown.push(async () => background.stop())
    background.run('orphan collection', async (signal) => {
      const removed = await storage.collectOrphans({ signal })
      if (removed > 0) log.info(`removed ${removed} chunk(s) left without a record by an earlier crash`)
    })
    background.every('lease sweep', init.leases?.sweepEveryMs ?? DEFAULT_CONFIG.leaseSweepEvery, async (signal) => {
      // rounds follow each other at once while work is left, each bounded
      for (let more = true; more && !signal.aborted;) {
        const swept = await storage.sweepLeases(LEASE_SWEEP_LIMIT, { signal })
        more = swept.more
        if (swept.leased + swept.trashed + swept.collected > 0) {
          log.info(`leases: ${swept.leased} record(s) from before leases leased, ${swept.trashed} expired into the trash, ${swept.collected} collected (${swept.charge} bytes of charge given back)`)
        }
      }
    })

    let served = false
    let budget: ResourceBudget | undefined
    return {
      chunkStore,
      metadata,
      storage,
      background,
      async serve (serving) {
        if (served) throw new AlreadyServedError('the storage side is served already')
        served = true
        budget = new ResourceBudget(budgetLimitsOf({ ...DEFAULT_CONFIG, ...serving.budgets }, STREAM_MEMORY))
        const unserve = await startProtocols(storage, serving, budget, init.loggers)
        shutdown.push(unserve)
        return unserve
      },
      budgetUsage: () => budget?.nodeUsage(),
      stop: async () => shutdown.run()
    }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}

/** The handlers of the storage protocols over one StorageService; resolves to their stop. */
async function startProtocols (storage: StorageService, init: StorageServeInit, budget: ResourceBudget, loggers: LoggerFactory): Promise<() => Promise<void>> {
  const limits = new PeerLimits({ ...DEFAULT_PEER_LIMITS, ...init.limits })
  const sessions = new ProofSessions()
  const isKnown = init.isKnownPeer ?? (() => false)
  const resources = new StreamResources({
    budget,
    isKnown,
    writeDrainTimeoutMs: init.budgets?.writeDrainTimeout ?? DEFAULT_CONFIG.writeDrainTimeout
  })
  const hasStanding = init.hasStanding ?? init.isKnownPeer
  const admission = new ProofAdmission({ ...(hasStanding === undefined ? {} : { hasStanding }), limits: init.proofAdmission })
  const audits = new AuditBudget({ isKnown, ...(init.auditLimits === undefined ? {} : { limits: init.auditLimits }) })
  const common = { host: init.host, privateKey: init.privateKey, storage, limits, resources, idleTimeoutMs: init.idleTimeoutMs }
  const pacing = new StorePacing({
    rate: new StoreRate({
      perSubnet: init.budgets?.strangerStoreRate ?? DEFAULT_CONFIG.strangerStoreRate,
      strangers: Math.max(init.budgets?.strangerStoreRate ?? 0, init.budgets?.strangersStoreRate ?? DEFAULT_CONFIG.strangersStoreRate)
    }),
    isKnown,
    provisionalBytes: MAX_CHUNK_BYTES
  })
  const handlers: Startable[] = [
    new StoreHandler({ ...common, pacing, log: peerCaused(loggers('protocol:store')) }),
    ...(['read', 'delete'] as const).map((action) => new SessionHandler({
      ...common,
      action,
      pacing,
      ...(action === 'read' ? { audits } : {}),
      verifier: init.verifier,
      sessions,
      admission,
      log: peerCaused(loggers(action === 'read' ? 'protocol:retrieve' : 'protocol:delete')),
      challengeTtlMs: init.challengeTtlMs,
      sessionTtlMs: init.sessionTtlMs
    }))
  ]
  // the v1 ids answer "upgrade" instead of "protocol not supported"
  const refusals = ([['store', STORE_PROTOCOL, 'store'], ['retrieve', RETRIEVE_PROTOCOL, 'session'], ['delete', DELETE_PROTOCOL, 'session']] as const)
    .map(([name, current, response]) => new VersionRefusalHandler({
      host: init.host, limits, log: peerCaused(loggers(`protocol:${name}:v1`)), protocol: V1_PROTOCOLS[name], current, response
    }))
  handlers.push(...refusals)
  // every protocol's streams meet the strangers' rate, counted where the muxer makes them
  handlers.unshift(new InboundStreamGate({ host: init.host, resources }))
  const unsubscribe = endSessionsWithConnections(init.host, sessions)
  const started: typeof handlers = []
  const stop = async (): Promise<void> => {
    unsubscribe()
    for (const handler of started.splice(0)) await handler.stop()
  }
  try {
    for (const handler of handlers) { await handler.start(); started.push(handler) }
  } catch (err) {
    await stop()
    throw err
  }
  return stop
}

/**
 * What one stream's window of requests may hold: each in progress, plus one arriving,
 * plus what its peer may send past them (the muxer's window, reserved by the reader).
 */
const STREAM_MEMORY = (REQUESTS_IN_PROGRESS_PER_STREAM + 1) * MAX_DATA_FRAME_BYTES + 2 * STREAM_WINDOW_BYTES

/** The log of a protocol handler: what peers cause is a few lines a minute at most, whatever they send. */
function peerCaused (log: Logger): Logger {
  return new RateLimitedLogger({ inner: log })
}
