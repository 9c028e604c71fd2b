import type { Libp2p } from '@libp2p/interface'
import type { PlacementPolicy } from '../domain/membership/placement.ts'
import { FileCatalogueCache } from '../adapters/data-dir/file-catalogue-cache.ts'
import { FileWorkJournal } from '../adapters/data-dir/file-work-journal.ts'
import { finishWorkInFlight, OwnerJournal } from '../app/owner/work-in-flight.ts'
import { Libp2pFederationClient } from '../adapters/libp2p/libp2p-federation-client.ts'
import type { ProofArtefacts } from '../adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../adapters/proof/snarkjs-prover.ts'
import { CatalogueService } from '../app/owner/catalogue-service.ts'
import { OwnerService, type ShortCodes } from '../app/owner/owner-service.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { FederationClient, StorageCandidate } from '../ports/federation-client.ts'
import type { LoggerFactory } from '../ports/logger.ts'
import type { Prover } from '../ports/prover.ts'
import { BackgroundTasks } from '../app/background-tasks.ts'
import { LeaseRenewal } from '../app/owner/lease-renewal.ts'
import { observeTraffic, type TrafficObserver } from '../app/traffic-observing-federation-client.ts'
import { recordReceipts, type ReceiptRecorder } from '../app/admission/receipt-recording-federation-client.ts'
import { leaseStores } from '../app/owner/leased-stores.ts'
import { leaseSecret } from '../domain/crypto/key-derivation.ts'
import { commitmentToDecimal, poseidonCommitment } from '../domain/proofs/poseidon-commitment.ts'
import { Shutdown } from './shutdown.ts'
import { ReedSolomonCodec } from '../adapters/erasure/reed-solomon-codec.ts'
import type { SchemeChoice } from '../domain/formats/stripe-layout.ts'
import { RepairService, type RepairSettings } from '../app/owner/repair-service.ts'
import { RepairBudget } from '../app/owner/repair-budget.ts'
import { LevelRepairStateStore } from '../adapters/data-dir/level-repair-state.ts'
import { LevelPieceCache } from '../adapters/data-dir/level-piece-cache.ts'
import { DEFAULT_CONFIG } from '../domain/config/node-config.ts'

/** Peers that keep each generation of the owner's catalogue: losing it loses the file list. */
const CATALOGUE_REPLICAS = 5
/** How often the owner's node looks for expired shares to revoke. */
const SHARE_EXPIRY_CHECK_MS = 60_000
/** How often the owner's node retries work in flight a holder did not answer for (a failed put or rm asks at once). */
const WORK_IN_FLIGHT_CHECK_MS = 30_000

export interface OwnerSideInit {
  /** The host the owner's requests leave from (the daemon's own). */
  host: Libp2p
  /** The owner master secret. */
  master: Uint8Array
  artefacts: Pick<ProofArtefacts, 'wasmPath' | 'witnessCalculatorPath' | 'zkeyPath'>
  /** Storage nodes to choose from, e.g. the membership's live peers. */
  candidates: (options?: AbortOptions) => Promise<StorageCandidate[]>
  /** The file that caches the owner's catalogue (the data directory's `catalogue.cache`). */
  catalogueCachePath: string
  /** The owner's journal of work in flight (the data directory's `work-in-flight.jsonl`); without one nothing is journaled. */
  workJournalPath?: string
  /** How long a put cut by the daemon's death keeps what it stored for a re-run (node-config resumeGrace). */
  resumeGraceMs?: number
  /** The repair's state across restarts (the data directory's `repair/`); without one it lives in memory. */
  repairStatePath?: string
  /** Manifest pieces read before (the data directory's `manifests/`); without it every manifest read proves. */
  manifestCachePath?: string
  /** Told of every peer that answered a request: traffic is proof of life (the membership's liveness). */
  observedAlive?: TrafficObserver
  /** Counts what each peer keeps for this node: the reciprocity its peers are credited with. */
  receipts?: ReceiptRecorder
  /** Short one-time codes for shares (the daemon's handoff service). */
  shortCodes?: ShortCodes
  /** How a put that names no scheme stores its files (the `erasure` setting); default auto. */
  scheme?: SchemeChoice
  /** Audit and repair timers and bounds (the `audit*` and `repair*` settings); default DEFAULT_CONFIG's. */
  durability?: Partial<Omit<RepairSettings, 'budget'> & { auditEveryMs: number, bandwidth: number }>
  /** Milliseconds between renewals of the leases of what this owner references (`leaseRenewEvery`); default DEFAULT_CONFIG's. */
  leaseRenewEveryMs?: number
  /** Spread caps and weights of placement (the `placement*` settings); default placement.ts's. */
  placement?: Partial<PlacementPolicy>
  loggers: LoggerFactory
}

/** The owner half: this node's owner putting, reading and sharing files through the federation. */
export interface OwnerSide {
  prover: Prover
  federation: FederationClient
  catalogue: CatalogueService
  owner: OwnerService
  /** Audits and repair of the owner's files (`quloud check`, health in `ls` and `status`). */
  repair: RepairService
  /** Lease renewals of everything the owner references (protocol-spec/leases.md). */
  leases: LeaseRenewal
  /**
   * Owner work that runs while the daemon does (repair and audits belong here); its
   * signal fires and it is awaited before the prover closes.
   */
  background: BackgroundTasks
  /** The journal of work in flight, when there is one (its queue is in `status`). */
  journal: OwnerJournal | undefined
  stop (): Promise<void>
}

/**
 * Starts the owner half with the daemon, not on the first request: the prover's
 * keys load at start, so a missing or corrupt artefact stops start-up instead of a put.
 */
export async function startOwnerSide (init: OwnerSideInit): Promise<OwnerSide> {
  const log = init.loggers('owner')
  const shutdown = new Shutdown(log)
  try {
    const prover = await SnarkjsProver.create({ artefacts: init.artefacts })
    shutdown.push(async () => prover.close())
    // FederationClient wrappers, innermost first: the libp2p client, the owner's lease
    // commitment on every store, then traffic observation and receipt counting (both
    // count only what the client below verified)
    // a holder an audit caught is offered no new piece, by puts and repairs alike
    let repair: RepairService | undefined
    const candidates = async (o?: AbortOptions): Promise<StorageCandidate[]> => (await init.candidates(o)).filter((c) => repair?.distrusts(c.peerId) !== true)
    const libp2p = leaseStores(new Libp2pFederationClient({ host: init.host, prover, candidates }), commitmentToDecimal(poseidonCommitment(leaseSecret(init.master))))
    const observed = init.observedAlive === undefined ? libp2p : observeTraffic(libp2p, init.observedAlive)
    const federation = init.receipts === undefined ? observed : recordReceipts(observed, init.receipts)
    const journal = init.workJournalPath === undefined ? undefined : new OwnerJournal(new FileWorkJournal(init.workJournalPath), { resumeGraceMs: init.resumeGraceMs ?? DEFAULT_CONFIG.resumeGrace })
    const manifestCache = init.manifestCachePath === undefined ? undefined : await LevelPieceCache.open(init.manifestCachePath)
    // closed after the background tasks (pushed later, stopped first) that read it
    if (manifestCache !== undefined) shutdown.push(async () => manifestCache.close())
    const deps = { master: init.master, federation, log, codec: new ReedSolomonCodec(), placement: init.placement, journal, manifestCache }
    const catalogue = new CatalogueService({
      ...deps, cache: new FileCatalogueCache(init.catalogueCachePath), replicas: CATALOGUE_REPLICAS, log: init.loggers('owner:catalogue')
    })
    const owner = new OwnerService(deps, catalogue, {
      ...(init.shortCodes === undefined ? {} : { shortCodes: init.shortCodes }),
      ...(init.scheme === undefined ? {} : { scheme: init.scheme })
    })
    const d = init.durability ?? {}
    const repairState = init.repairStatePath === undefined ? undefined : await LevelRepairStateStore.open(init.repairStatePath)
    // closed after the background tasks (pushed later, stopped first) that save into it
    if (repairState !== undefined) shutdown.push(async () => repairState.close())
    repair = new RepairService({ ...deps, log: init.loggers('owner:repair') }, catalogue, {
      repairAfterMs: d.repairAfterMs ?? DEFAULT_CONFIG.repairAfter,
      auditEveryMs: d.auditEveryMs ?? DEFAULT_CONFIG.auditEvery,
      auditSample: d.auditSample ?? DEFAULT_CONFIG.auditSample,
      budget: new RepairBudget(d.bandwidth ?? DEFAULT_CONFIG.repairBandwidth),
      concurrency: d.concurrency ?? DEFAULT_CONFIG.repairConcurrency,
      leaseDurationMs: d.leaseDurationMs ?? DEFAULT_CONFIG.leaseDuration,
      ...(repairState === undefined ? {} : { state: repairState })
    })
    await repair.restore()
    const background = new BackgroundTasks(log)
    shutdown.push(async () => background.stop())
    // an expired share is revoked by rotating its file; a minute late is soon enough
    background.every('expire-shares', SHARE_EXPIRY_CHECK_MS, async (signal) => owner.expireShares({ signal }))
    const durable = repair
    background.every('audit-and-repair', d.auditEveryMs ?? DEFAULT_CONFIG.auditEvery, async (signal) => durable.sweep({ signal }))
    // the repair service tells a holder whose leases lapsed from one that lost its pieces by the last renewal there
    const leases = new LeaseRenewal({ ...deps, log: init.loggers('owner:leases') }, catalogue, (peer, at, missing) => { durable.renewedOn(peer, at, missing) })
    background.every('lease renewal', init.leaseRenewEveryMs ?? DEFAULT_CONFIG.leaseRenewEvery, async (signal) => {
      const round = await leases.renew({ signal })
      if (round.missing + round.failed > 0) log.info(`leases: ${round.renewed} renewed, ${round.missing} no longer held, ${round.failed} holder(s) to try again`)
    })
    if (journal !== undefined) {
      // one run at a time; a kick during a run asks for one more after it
      let running: Promise<unknown> | undefined
      let again = false
      const finish = async (signal: AbortSignal): Promise<void> => {
        if (running !== undefined) { again = true; return }
        try {
          do {
            again = false
            running = finishWorkInFlight(deps, catalogue, journal, { signal })
            await running
          } while (again && !signal.aborted)
        } finally {
          running = undefined
        }
      }
      journal.kick = () => { try { background.run('work in flight', finish) } catch { /* stopping */ } }
      background.every('work in flight', WORK_IN_FLIGHT_CHECK_MS, finish)
    }
    return { prover, federation, catalogue, owner, repair, leases, background, journal, stop: async () => shutdown.run() }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}
