import { join } from 'node:path'
import { FILES, loadConfig, loadSecrets } from '../adapters/data-dir/data-dir.ts'
import { LevelPeerBook } from '../adapters/peer-book/level-peer-book.ts'
import { loadProofArtefacts } from '../adapters/proof/artefacts.ts'
import { WorkerPoolVerifier } from '../adapters/proof/worker-pool-verifier.ts'
import { MeteredVerifier } from '../adapters/metrics/metered-verifier.ts'
import { NodeMetrics } from '../adapters/metrics/node-metrics.ts'
import { freeDiskBytes } from '../adapters/data-dir/free-disk.ts'
import { DEFAULT_FEDERATION } from '../domain/membership/federation.ts'
import { nodeAtRestKey } from '../domain/crypto/key-derivation.ts'
import { auditLimitsOf, peerQuotaOf, placementPolicyOf, proofAdmissionLimitsOf, strangersCapacityOf, type NodeConfig } from '../domain/config/node-config.ts'
import { openAdmission } from './admission.ts'
import { formatSize } from '../domain/config/size.ts'
import { AddressInUseError, DataDirError } from '../errors.ts'
import type { LoggerFactory } from '../ports/logger.ts'
import type { HandoffService } from '../app/handoff/handoff-service.ts'
import { checkDashboardSettings, startControlApi } from './control-api.ts'
import { RecentEvents } from '../adapters/dashboard/recent-events.ts'
import { startHandoff } from './handoff.ts'
import { startMembership, type Membership } from './membership.ts'
import { startOwnerSide } from './owner-side.ts'
import { parseSchemeChoice } from '../domain/formats/stripe-layout.ts'
import { useEd25519 } from '../domain/capabilities/ed25519.ts'
import { NodeEd25519 } from '../adapters/crypto/node-ed25519.ts'
import { Shutdown } from './shutdown.ts'
import { openStorageSide, type BudgetUsage } from './storage-side.ts'
import type { BudgetStatus } from '../app/node-status.ts'
import type { RepairQueue } from '../app/owner/repair-service.ts'

export interface StartNodeOptions {
  dataDir: string
  /** Flag values that override config.json for this run. */
  overrides?: Partial<NodeConfig>
  loggers: LoggerFactory
  /**
   * The proof-system id announced and required from peers. Defaults to the
   * placeholder; the verification-key hash replaces it here once it exists.
   */
  proofSystemId?: string
  /**
   * Called when `POST /v1/stop` (`quloud stop`) asks the daemon to stop: the foreground
   * command stops as on SIGTERM. Without it the node stops itself.
   */
  requestStop?: () => void
}

export interface RunningNode {
  peerId: string
  apiUrl: string
  /** Federation membership: the libp2p host and the live peers placement chooses from. */
  membership: Membership
  /** Short one-time codes (protocol-spec/handoff.md): offer a capability, redeem a code. */
  handoff: HandoffService
  stop (): Promise<void>
}

/**
 * The daemon: the four halves over one data directory, in the order each needs the
 * one before (storage, whose usage membership announces; membership, whose host the
 * storage protocols and the owner use; the owner; the control API over all of them),
 * and stopped in the reverse order.
 */
export async function startNode (options: StartNodeOptions): Promise<RunningNode> {
  const { dataDir } = options
  // manifests, pieces and catalogues are signed by OpenSSL: the same bytes as @noble's, a
  // twentieth of the CPU (a put of small files signed twice per file)
  useEd25519(new NodeEd25519())
  // the dashboard's log page shows what the daemon logged last
  const events = new RecentEvents()
  const loggers = events.tee(options.loggers)
  const log = loggers('node')
  const config: NodeConfig = { ...await loadConfig(dataDir), ...options.overrides }
  const dashboard = checkDashboardSettings({
    ...(config.dashboard === undefined ? {} : { address: config.dashboard }),
    ...(config.dashboardPassword === undefined ? {} : { password: config.dashboardPassword })
  })
  const secrets = await loadSecrets(dataDir)
  const shutdown = new Shutdown(log)
  const metrics = new NodeMetrics()

  try {
    // a damaged trust file stops start-up: the operator's peers would lose their room
    // the owner side's repair, started later, says which holders its audits caught
    let caught: ((peer: string) => boolean) | undefined
    const admission = await openAdmission({ trustPath: join(dataDir, FILES.trust), receiptsPath: join(dataDir, FILES.receipts), config, caught: (peer) => caught?.(peer) === true })
    shutdown.push(async () => admission.close())
    const { trust, receipts } = admission
    const storageSide = await openStorageSide({
      chunksDir: join(dataDir, FILES.chunks),
      metadataDir: join(dataDir, FILES.metadata),
      atRestKey: nodeAtRestKey(secrets.nodeSecret),
      capacity: config.capacity,
      allowanceOf: admission.allowanceOf,
      subnetShareOf: admission.subnetShareOf,
      metrics,
      leases: { durationMs: config.leaseDuration, trashMs: config.leaseTrash, sweepEveryMs: config.leaseSweepEvery },
      loggers
    })
    shutdown.push(async () => storageSide.stop())
    const { chunkStore } = storageSide
    const allowances = admission.attach(storageSide)
    // the operator's and reciprocal peers: never in the strangers' share of a budget
    const isKnownPeer = (peer: string): boolean => allowances.standingOf(peer) !== 'stranger'

    const peerBook = await LevelPeerBook.open({ location: join(dataDir, FILES.peers) }).catch((err) => {
      throw new DataDirError(`cannot open ${join(dataDir, FILES.peers)}: ${err?.cause?.cause?.code ?? err?.message}`, { cause: err })
    })
    shutdown.push(async () => peerBook.close())

    const artefacts = await loadProofArtefacts()
    const startedAt = new Date()
    await warnIfCapacityExceedsDisk(dataDir, config.capacity, await chunkStore.usedBytes(), log)
    const membership = await startMembership({
      privateKey: secrets.identity,
      config,
      book: peerBook,
      proofSystemId: options.proofSystemId ?? artefacts.proofSystemId,
      freeBytes: async (o) => config.capacity - await chunkStore.usedBytes(o),
      startedAt,
      loggers,
      connections: { ...config, isKnownPeer }
    }).catch((err) => { throw addressInUse(err, config.listen) ?? err })
    shutdown.push(async () => membership.stop())
    const host = membership.host
    const peerId = host.peerId.toString()
    log.info(`peer id ${peerId}`)

    // off the event loop, served in turn per subnet and peer: a proof flood delays only its sender
    const verifier = new MeteredVerifier(await WorkerPoolVerifier.create({ verificationKey: artefacts.verificationKey, workers: config.proofWorkers }), metrics)
    shutdown.push(async () => verifier.close())
    const onServed = (protocol: string, outcome: string): void => { metrics.requests.inc({ protocol, outcome }) }
    const onRefused = (protocol: string, code: string): void => { metrics.refusals.inc({ protocol, code }) }
    // known (trusted, reciprocal) peers: outside the strangers' budgets, and proving ahead of strangers and past their bounds
    shutdown.push(await storageSide.serve({
      host, privateKey: secrets.identity, verifier, limits: { onServed, onRefused },
      budgets: config, isKnownPeer, proofAdmission: proofAdmissionLimitsOf(config), auditLimits: auditLimitsOf(config)
    }))
    log.info(`storage offered: ${formatSize(config.capacity)}, ${formatSize(strangersCapacityOf(config))} of it to strangers at ${formatSize(Math.min(config.newcomerAllowance, peerQuotaOf(config)))} each, ${trust.list().length} trusted peer(s); proof system ${artefacts.proofSystemId.slice(0, 16)}…`)
    for (const addr of host.getMultiaddrs()) log.info(`listening on ${addr.toString()}`)
    log.info(federationNotice(config))

    const handoff = await startHandoff({
      host,
      onServed,
      loggers,
      // the sharer is online by definition: connected peers first, then the live ones
      candidates: async (o) => [...new Set([...host.getPeers().map((p) => p.toString()), ...(await membership.livePeers(o)).map((p) => p.peerId)])]
        .filter((p) => p !== peerId)
    })
    shutdown.push(async () => handoff.stop())

    const ownerSide = await startOwnerSide({
      host,
      master: secrets.ownerSecret,
      artefacts,
      // a declared site groups strictly only the peers the operator trusts (placement-groups.ts), read at each placement
      candidates: async (o) => (await membership.livePeers(o)).map((p) => ({
        peerId: p.peerId, freeBytes: p.free, reachable: true, firstSeen: p.firstSeen, probes: p.probes, successes: p.successes, addresses: p.addresses,
        ...(p.site === undefined ? {} : { site: p.site }), trusted: trust.get(p.peerId) !== undefined
      })),
      catalogueCachePath: join(dataDir, FILES.catalogueCache),
      workJournalPath: join(dataDir, FILES.workJournal),
      resumeGraceMs: config.resumeGrace,
      repairStatePath: join(dataDir, FILES.repairState),
      manifestCachePath: join(dataDir, FILES.manifestCache),
      observedAlive: membership.observedAlive,
      shortCodes: handoff.service,
      scheme: parseSchemeChoice(config.erasure),
      durability: {
        auditEveryMs: config.auditEvery, auditSample: config.auditSample, repairAfterMs: config.repairAfter, bandwidth: config.repairBandwidth, concurrency: config.repairConcurrency,
        leaseDurationMs: config.leaseDuration
      },
      leaseRenewEveryMs: config.leaseRenewEvery,
      placement: placementPolicyOf(config),
      receipts,
      loggers
    })
    shutdown.push(async () => ownerSide.stop())
    caught = (peer) => ownerSide.repair.distrusts(peer)


    // what status and the metrics both show of the node-wide budgets, read when asked
    const budgets = (): BudgetStatus | undefined => budgetStatus(storageSide.budgetUsage(), host.getConnections().length, config.maxConnections)
    const api = await startControlApi({
      address: config.api,
      dataDir,
      peerId,
      status: {
        peerId: () => peerId,
        addresses: () => host.getMultiaddrs().map((a) => a.toString()),
        capacity: config.capacity,
        chunkStore,
        dataDir,
        startedAt,
        network: async (s) => membership.network({ signal: s }),
        budgets
      },
      peers: async (o) => membership.peers(o),
      owner: ownerSide.owner,
      repair: ownerSide.repair,
      work: ownerSide.journal === undefined ? undefined : async (o) => ownerSide.journal!.queue(o),
      metrics,
      requestStop: options.requestStop ?? (() => { void shutdown.run() }),
      dashboard,
      events,
      trust: {
        trust,
        allowances: async (o) => allowances.view((await membership.peers(o)).peers.map((p) => p.peerId), o)
      },
      loggers
    })
    shutdown.push(async () => api.stop())
    registerNodeMetrics(metrics, {
      capacity: config.capacity, chunkStore, membership, repair: ownerSide.repair, storage: storageSide.storage, leases: ownerSide.leases,
      budgets
    })
    log.info(`control API on ${api.url} (key in ${join(dataDir, FILES.apiToken)})`)

    return { peerId, apiUrl: api.url, membership, handoff: handoff.service, stop: async () => shutdown.run() }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}

/** Gauges read at each scrape from what the node already keeps. */
function registerNodeMetrics (metrics: NodeMetrics, from: {
  capacity: number
  chunkStore: { usedBytes (): Promise<number>, count (): Promise<number> }
  membership: Membership
  repair: { queue (): RepairQueue }
  storage: { leaseCounts (): { leased: number, trashed: number, collected: number, charge: number } }
  leases: { totals (): { renewed: number, missing: number, failed: number } }
  budgets: () => BudgetStatus | undefined
}): void {
  metrics.sampled('quloud_capacity_bytes', 'Bytes this node offers to the federation', [], async () => [{ value: from.capacity }])
  metrics.sampled('quloud_stored_bytes', 'Bytes of chunks this node keeps for peers', [], async () => [{ value: await from.chunkStore.usedBytes() }])
  metrics.sampled('quloud_stored_chunks', 'Chunks this node keeps for peers', [], async () => [{ value: await from.chunkStore.count() }])
  metrics.sampled('quloud_peers', 'Federation peers: in the peer book, live (reachable, announcing, same proof system) and connected', ['state'], async () => {
    const peers = await from.membership.peers()
    return [
      { labels: { state: 'known' }, value: peers.peers.length },
      { labels: { state: 'live' }, value: peers.live },
      { labels: { state: 'connected' }, value: from.membership.host.getPeers().length }
    ]
  })
  metrics.sampled('quloud_announcements_total', 'Federation announcements since start: sent by this node; accepted, rejected (costs the relayer score) and ignored (stale or unknown) from others', ['outcome'], async () => {
    const { announcements } = await from.membership.peers()
    return (['sent', 'accepted', 'rejected', 'ignored'] as const).map((outcome) => ({ labels: { outcome }, value: announcements[outcome] }))
  })
  metrics.sampled('quloud_repair_files', 'This owner\'s files by health: known (manifest read), degraded (below full health), waiting (degraded, holders away less than repairAfter), being checked or repaired', ['state'], async () => {
    const queue = from.repair.queue()
    return [
      { labels: { state: 'known' }, value: queue.files },
      { labels: { state: 'degraded' }, value: queue.degraded },
      { labels: { state: 'waiting' }, value: queue.waiting },
      { labels: { state: 'running' }, value: queue.running.length }
    ]
  })
  metrics.sampled('quloud_lease_records_total', 'Records this node\'s lease sweeps acted on since start: leased (from before leases), trashed (lease over), collected (after the trash, bytes freed)', ['action'], async () => {
    const swept = from.storage.leaseCounts()
    return (['leased', 'trashed', 'collected'] as const).map((action) => ({ labels: { action }, value: swept[action] }))
  })
  metrics.sampled('quloud_lease_renewals_total', 'This owner\'s lease renewals since start: records renewed, pieces a holder no longer had, renew requests that failed (to try again)', ['outcome'], async () => {
    const totals = from.leases.totals()
    return (['renewed', 'missing', 'failed'] as const).map((outcome) => ({ labels: { outcome }, value: totals[outcome] }))
  })
  metrics.sampled('quloud_repair_shards_total', 'Shards (or copies) repair rebuilt on new holders since start', [], async () => [{ value: from.repair.queue().repairedShards }])
  metrics.sampled('quloud_repair_pending_deletions', 'Old holders whose replaced pieces are deleted once they answer again', [], async () => [{ value: from.repair.queue().deletions }])
  metrics.sampled('quloud_audited_holders_distrusted', 'Holders caught by an audit: chosen for nothing, their pieces rebuilt elsewhere', [], async () => [{ value: from.repair.queue().distrusted.length }])
  metrics.sampled('quloud_audits_total', 'Pieces this owner audited on their holders since start, by verdict', ['outcome'], async () => {
    const { audits } = from.repair.queue()
    return [{ labels: { outcome: 'passed' }, value: audits.passed }, { labels: { outcome: 'failed' }, value: audits.failed }]
  })
  metrics.sampled('quloud_budget_used', 'Node-wide resource budgets in use, all peers and strangers alone (bytes of memory, streams, connections)', ['resource', 'scope'], async () => budgetSamples(from.budgets(), 'used'))
  metrics.sampled('quloud_budget_limit', 'Limits of the node-wide resource budgets, of all peers and of strangers', ['resource', 'scope'], async () => budgetSamples(from.budgets(), 'limit'))
}

/**
 * libp2p reports a taken port as a listen failure whose text names the errno, with no
 * cause to test; this turns it into the one-line error of exit code 11.
 */
function addressInUse (err: any, listen: string[]): Error | undefined {
  if (!/EADDRINUSE/.test(String(err?.message))) return undefined
  return new AddressInUseError(`a listen address is in use (${listen.join(', ')}): another quloud daemon or program holds the port; choose another with --listen or \`quloud config set listen '["/ip4/0.0.0.0/tcp/PORT"]'\``, { cause: err })
}

/**
 * Start-up warns rather than refuses when the offered capacity exceeds what the disk
 * can still hold: the disk filled with other things while the node was down, and a
 * node that will not start serves nobody. `init` and `config set` refuse instead.
 */
async function warnIfCapacityExceedsDisk (dataDir: string, capacity: number, used: number, log: { warn (m: string): void }): Promise<void> {
  const free = await freeDiskBytes(dataDir)
  if (free !== undefined && capacity - used > free) {
    log.warn(`capacity ${formatSize(capacity)} exceeds what the disk can hold: ${formatSize(used)} stored, ${formatSize(free)} free; peers will see "full" errors when it fills (lower it with \`quloud config set capacity SIZE\`)`)
  }
}

/**
 * The start-up line that says which federation the node joins. On the defaults it says
 * so, and that mDNS makes it visible to every node on the LAN with the defaults too:
 * a first `npm start` should not join strangers silently.
 */
export function federationNotice (config: Pick<NodeConfig, 'federation' | 'mdns' | 'bootstrap'>): string {
  if (config.federation === DEFAULT_FEDERATION) {
    return `joining the default federation "${DEFAULT_FEDERATION}"${config.mdns ? ' with mDNS on: any Quloud node on this LAN with the default settings may find this one and store here' : ''}; choose your own with \`quloud config set federation NAME\``
  }
  return `joining federation "${config.federation}" (mDNS ${config.mdns ? 'on' : 'off'}, ${config.bootstrap.length} bootstrap peer(s))`
}

/** One budget figure per resource and scope, as the quloud_budget_* gauges show them. */
function budgetSamples (budgets: BudgetStatus | undefined, figure: 'used' | 'limit'): Array<{ labels: Record<string, string>, value: number }> {
  if (budgets === undefined) return []
  const samples: Array<{ labels: Record<string, string>, value: number }> = (['memory', 'streams'] as const).flatMap((resource) => [
    { labels: { resource, scope: 'all' }, value: figure === 'used' ? budgets[resource].used : budgets[resource].limit },
    { labels: { resource, scope: 'strangers' }, value: figure === 'used' ? budgets[resource].strangers : budgets[resource].strangersLimit }
  ])
  samples.push({ labels: { resource: 'connections', scope: 'all' }, value: figure === 'used' ? budgets.connections.open : budgets.connections.limit })
  return samples
}

/** The budgets' node-wide use as `status` shows it. */
function budgetStatus (usage: BudgetUsage | undefined, connections: number, maxConnections: number): BudgetStatus | undefined {
  if (usage === undefined) return undefined
  const use = (resource: 'memory' | 'streams') => ({
    used: usage.used[resource], limit: usage.limits[resource], strangers: usage.strangers[resource], strangersLimit: usage.strangersLimits[resource]
  })
  return { memory: use('memory'), streams: use('streams'), connections: { open: connections, limit: maxConnections } }
}
