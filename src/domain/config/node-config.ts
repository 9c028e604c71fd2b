import { parseMultiaddrText } from '../membership/multiaddr-text.ts'
import { ConfigError, defineError } from '../../errors.ts'
import { parseDuration } from './duration.ts'
import { checkFederationName, DEFAULT_FEDERATION } from '../membership/federation.ts'
import { parseSize } from './size.ts'
import { parseSchemeChoice } from '../formats/stripe-layout.ts'
import { DEFAULT_PLACEMENT_POLICY, type PlacementPolicy } from '../membership/placement.ts'
import { checkSiteName } from '../membership/site.ts'

/** `resumeGrace` not a duration from 0 to 365 days: a ConfigError. */
export const InvalidResumeGraceError = defineError('InvalidResumeGraceError', 'invalid-resume-grace', ConfigError)
export type InvalidResumeGraceError = InstanceType<typeof InvalidResumeGraceError>

/** How the node takes part in the federation's DHT; `auto` = server once publicly reachable. */
export type DhtMode = 'auto' | 'server' | 'client'
const DHT_MODES: readonly DhtMode[] = ['auto', 'server', 'client']

/** A node's settings: `config.json` in the data directory, overridden by `start` flags. */
export interface NodeConfig {
  /** libp2p listen multiaddrs. */
  listen: string[]
  /** host:port of the local control API; port 0 picks a free one. Loopback only. */
  api: string
  /** Bytes this node offers to the federation. */
  capacity: number
  /** The most any one peer the operator has not trusted may store here; unset means a quarter of the capacity. */
  peerQuota?: number
  /** Bytes a stranger (neither trusted nor stored on by this node) may store here. */
  newcomerAllowance: number
  /** Bytes all strangers together may store here; unset means half the capacity. */
  strangersCapacity?: number
  /** Bytes the strangers of one public /24 or /48 may store here together; unset means a quarter of the strangers' capacity. */
  strangersPerSubnet?: number
  /** Public addresses to share with peers as they are (a port forward, a VPS IP), without AutoNAT confirmation. */
  publicAddresses: string[]
  /** Name of the federation to join; separates DHT, gossip topic and mDNS service. */
  federation: string
  /**
   * The site this node stands in (one household, one flat: src/domain/membership/site.ts),
   * announced so that owners count this site's nodes as one failure domain; unset: none.
   */
  site?: string
  /** Discover peers of the federation on the LAN with mDNS. */
  mdns: boolean
  /** Multiaddrs of federation nodes to join through, each ending in /p2p/<peer id>. */
  bootstrap: string[]
  /** DHT role: `auto` (server once publicly reachable), `server` or `client`. */
  dhtMode: DhtMode
  /** Relay connections for peers behind NAT (circuit relay v2 server). */
  relayServer: boolean
  /** With relayServer: reservations held at once; a trusted or reciprocal peer takes a stranger's when full. */
  relayReservations: number
  /** With relayServer: reservations the strangers of one network (public /24 or /48, else one address) may hold. */
  relayReservationsPerSubnet: number
  /** With relayServer: bytes per second a stranger's relayed connections carry, per reservation holder and per source network. */
  relayStrangerRate: number
  /** Ask the router for a port mapping (UPnP IGD). */
  upnp: boolean
  /** Bytes per second this node sends on federation (Quloud protocol) streams at most; unset: unlimited. */
  limitUpload?: number
  /** Bytes per second this node receives on federation streams at most; unset: unlimited. */
  limitDownload?: number
  /** Milliseconds between this node's announcements. */
  announceInterval: number
  /** Milliseconds an announcement's timestamp may differ from the clock: older is ignored, newer rejected. */
  announceWindow: number
  /** Milliseconds between liveness rounds (a ping to every peer in the book). */
  livenessInterval: number
  /** Milliseconds after which a ping counts as failed. */
  pingTimeout: number
  /** A peer is unreachable after this many failed pings in a row... */
  unreachableAfterFailures: number
  /** ...or when a ping fails and none succeeded for this many milliseconds. */
  unreachableAfter: number
  /** Milliseconds between discovery walks (bootstrap re-dial, DHT lookup). */
  discoveryInterval: number
  /** The most peers the peer book holds; when full, a newcomer replaces only an unreachable one. */
  peerBookSize: number
  /** The most book entries answering from one public /24 or /48; unset means a sixteenth of peerBookSize (at least 4). */
  peerBookPerSubnet?: number
  /** Milliseconds after which an unreachable peer is dropped from the book. */
  peerStaleAfter: number
  /** New peer identities dialled per gossip neighbour per NEW_PEERS_WINDOW_MS (more than peerBookSize distinct ones cost it score). */
  newPeersPerRelay: number
  /** Announcements of unknown peers that may wait for their dial at once. */
  unverifiedPeers: number
  /**
   * Worker threads verifying peers' ownership proofs: the most CPU a flood of proofs
   * can take (1 of 2 cores by default), whatever the number of peers sending them.
   */
  proofWorkers: number
  /** Lowest level the daemon's log writes: `debug`, `info`, `warn` or `error`. */
  logLevel: LogLevel
  /** `text` (one readable line per event) or `json` (one JSON object per line). */
  logFormat: 'text' | 'json'
  /** Append the log to this file instead of stderr (reopened on SIGHUP, for logrotate). */
  logFile?: string
  /**
   * HOST:PORT of a second listener for the web dashboard alone (e.g. 0.0.0.0:4103 for
   * the LAN); unset, the dashboard is only at /ui of the loopback control API.
   */
  dashboard?: string
  /** The dashboard's login password; required when `dashboard` is not a loopback address. */
  dashboardPassword?: string
  /** Bytes the node buffers for peers at once (responses not yet drained, frames being received, chunks read for a response). */
  memoryBudget: number
  /** Of `memoryBudget`, the most one peer may hold. */
  peerMemoryBudget: number
  /** Of `memoryBudget`, the most the peers of one subnet (public /24 or /48, else one address) may hold together. */
  subnetMemoryBudget: number
  /** Streams of the Quloud protocols open at once, over all peers. */
  maxStreams: number
  /** Of `maxStreams`, the most one peer may have open. */
  maxStreamsPerPeer: number
  /** Of `maxStreams`, the most the peers of one subnet may have open. */
  maxStreamsPerSubnet: number
  /** Fraction of each node-wide budget (memory, streams, connections) all strangers together may use; the rest is kept for trusted and reciprocal peers. */
  strangersShare: number
  /** New inbound streams per second the strangers of one subnet may open, admitted or refused (each cost the node its first window). */
  strangerStreamsPerSecond: number
  /** New inbound streams the strangers of one subnet may open at once after a quiet while. */
  strangerStreamBurst: number
  /** Bytes per second the strangers of one subnet may have stored here, together (two seconds' worth at once); over it their next store waits. */
  strangerStoreRate: number
  /** Bytes per second all strangers may have stored here, together. */
  strangersStoreRate: number
  /** Open connections (libp2p's high water); strangers get `strangersShare` of them. */
  maxConnections: number
  /** Open inbound connections from one subnet. */
  maxConnectionsPerSubnet: number
  /** New inbound connections from strangers per minute, over all of them. */
  newConnectionsPerMinute: number
  /** Of `newConnectionsPerMinute`, the most the strangers of one subnet may open a minute, so one host cannot spend everybody's. */
  newConnectionsPerSubnetPerMinute: number
  /** New outbound connections per minute through the router, over all peers. */
  newDialsPerMinute: number
  /** Milliseconds a response may wait for the peer to read it before the stream is ended. */
  writeDrainTimeout: number,
  /**
   * How a put that names no scheme stores files: "auto" (stripe-layout.ts autoScheme:
   * 3 copies below 6 storage nodes or 1 MiB, then k+m up to 6+6), "K+M" or "replicas:N".
   */
  erasure: string
  /** Milliseconds between the owner's audit-and-repair rounds over its files. */
  auditEvery: number
  /** Pieces audited per holder of each file per round. */
  auditSample: number
  /** Milliseconds a holder may be unreachable before its shards are rebuilt on other nodes. */
  repairAfter: number
  /** Bytes per second repair reads and writes at most. */
  repairBandwidth: number
  /** Files audited and repaired at once. */
  repairConcurrency: number
  /** Milliseconds a record stored here lives unless its owner renews it (protocol-spec/leases.md). */
  leaseDuration: number
  /** Milliseconds an unrenewed record waits in the trash (still served, still renewable) before it is collected. */
  leaseTrash: number
  /** Milliseconds between the owner's renewals of what it references; well inside `leaseDuration`. */
  leaseRenewEvery: number
  /** Milliseconds between this node's sweeps of expired leases. */
  leaseSweepEvery: number
  /**
   * Milliseconds what a put cut by the owner daemon's death stored is kept for a re-run
   * of the put to adopt (app/owner/put-resume.ts); then it is deleted. In effect at most
   * `leaseDuration`: the holders drop unreferenced records after that anyway.
   */
  resumeGrace: number
  /** Ownership-proof challenges one peer may have outstanding (issued, not yet verified or given up). */
  proofChallengesPerPeer: number
  /** Challenges the strangers of one network (public /24 or /48, or one relay) may have outstanding together. */
  proofChallengesPerSubnet: number
  /** Milliseconds a peer waits after its first failed proof; each further failure doubles it... */
  proofFailureCooldown: number
  /** ...up to this many milliseconds. */
  proofMaxCooldown: number
  /** Failed proofs the strangers of one network may cost in a burst, and per second after it. */
  proofSubnetFailureBurst: number
  proofSubnetFailuresPerSecond: number
  /** The same for all strangers together. */
  proofStrangerFailureBurst: number
  proofStrangerFailuresPerSecond: number
  /** Audits a second one stranger id may ask this node (burst: twice that). */
  auditsPerStranger: number
  /** Audits a second the strangers of one network (public /24 or /48, or one relay) may ask together (burst: twice that). */
  auditsPerSubnet: number
  /** Audits a second one trusted or reciprocal peer may ask (burst: eight times that). */
  auditsPerKnownPeer: number
  /** Share (0–1] of one file's copies (or a catalogue's) that may go to one public subnet or one declared site. */
  placementSubnetShare: number
  /** Share (0–1] of one file's copies that may go to peers first seen less than `placementNewCohort` ago while older ones are eligible. */
  placementNewCohortShare: number
  /** Milliseconds since first seen under which a peer is in the new cohort. */
  placementNewCohort: number
  /** Announced free space weighs at most this many bytes in placement. */
  placementMaxWeight: number
  /** Milliseconds of age at which a peer's placement reputation stops growing. */
  placementMatureAfter: number
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']
/**
 * The lowest rate limit accepted, bytes per second: a put writes to up to 3 holders at
 * once, and each holder drops a stream that brings a chunk frame slower than 16 KiB/s.
 */
export const MIN_RATE_LIMIT = 64 * 1024

/** The window of `newPeersPerRelay`. */
export const NEW_PEERS_WINDOW_MS = 10 * 60_000

export const DEFAULT_CONFIG: NodeConfig = {
  listen: ['/ip4/0.0.0.0/tcp/4101'],
  api: '127.0.0.1:4102',
  capacity: 10 * 2 ** 30,
  newcomerAllowance: 256 * 2 ** 20,
  publicAddresses: [],
  federation: DEFAULT_FEDERATION,
  mdns: true,
  bootstrap: [],
  dhtMode: 'auto',
  relayServer: false,
  relayReservations: 15,
  relayReservationsPerSubnet: 5,
  relayStrangerRate: 2 * 2 ** 20,
  upnp: false,
  announceInterval: 60_000,
  announceWindow: 5 * 60_000,
  livenessInterval: 30_000,
  pingTimeout: 10_000,
  unreachableAfterFailures: 3,
  unreachableAfter: 2 * 60_000,
  discoveryInterval: 60_000,
  peerBookSize: 1000,
  peerStaleAfter: 3 * 24 * 3_600_000,
  newPeersPerRelay: 32,
  unverifiedPeers: 64,
  proofWorkers: 1,
  logLevel: 'info',
  logFormat: 'text',
  memoryBudget: 256 * 2 ** 20,
  peerMemoryBudget: 32 * 2 ** 20,
  subnetMemoryBudget: 64 * 2 ** 20,
  maxStreams: 512,
  maxStreamsPerPeer: 64,
  maxStreamsPerSubnet: 128,
  strangersShare: 0.5,
  // an honest peer opens a stream per file it stores or reads, and proves for each read
  // (~0.1 s of its CPU): a few a second, a burst when a put starts; a flood of reopened
  // refused streams is hundreds a second
  strangerStreamsPerSecond: 32,
  strangerStreamBurst: 128,
  // a stranger may keep a newcomer's allowance (256 MiB): it fills it in a minute; 48
  // free ids filling theirs at disk speed took the node's cores and disk from its peers
  strangerStoreRate: 4 * 2 ** 20,
  strangersStoreRate: 16 * 2 ** 20,
  maxConnections: 96,
  maxConnectionsPerSubnet: 16,
  newConnectionsPerMinute: 60,
  // a third of the ceiling: an honest host reconnects a few times an hour, a /24 of
  // honest homes rarely 20 times a minute; locking every newcomer out now takes three
  // subnets reconnecting without pause, not one host
  newConnectionsPerSubnetPerMinute: 20,
  newDialsPerMinute: 120,
  writeDrainTimeout: 30_000,
  erasure: 'auto',
  auditEvery: 3_600_000,
  auditSample: 2,
  repairAfter: 24 * 3_600_000,
  repairBandwidth: 8 * 2 ** 20,
  repairConcurrency: 2,
  leaseDuration: 30 * 24 * 3_600_000,
  leaseTrash: 7 * 24 * 3_600_000,
  leaseRenewEvery: 24 * 3_600_000,
  leaseSweepEvery: 3_600_000,
  resumeGrace: 24 * 3_600_000,
  // the proof admission's defaults (src/adapters/proof/proof-admission.ts DEFAULT_PROOF_ADMISSION; a test keeps them equal)
  proofChallengesPerPeer: 16,
  proofChallengesPerSubnet: 8,
  proofFailureCooldown: 1000,
  proofMaxCooldown: 10 * 60_000,
  proofSubnetFailureBurst: 16,
  proofSubnetFailuresPerSecond: 2,
  proofStrangerFailureBurst: 64,
  proofStrangerFailuresPerSecond: 20,
  // the audit budget's defaults (src/adapters/libp2p/protocols/audit-budget.ts DEFAULT_AUDIT_LIMITS; a test keeps them equal)
  auditsPerStranger: 16,
  auditsPerSubnet: 32,
  auditsPerKnownPeer: 64,
  placementSubnetShare: DEFAULT_PLACEMENT_POLICY.maxSubnetShare,
  placementNewCohortShare: DEFAULT_PLACEMENT_POLICY.maxNewCohortShare,
  placementNewCohort: DEFAULT_PLACEMENT_POLICY.newCohortMs,
  placementMaxWeight: DEFAULT_PLACEMENT_POLICY.maxWeightBytes,
  placementMatureAfter: DEFAULT_PLACEMENT_POLICY.matureAfterMs
}

/** The proof admission's limits in `config`, by the names proof-admission.ts gives them. */
export function proofAdmissionLimitsOf (config: NodeConfig): {
  challengesPerPeer: number, strangerChallengesPerSubnet: number, firstCooldownMs: number, maxCooldownMs: number,
  subnetFailureBurst: number, subnetFailuresPerSecond: number, strangerFailureBurst: number, strangerFailuresPerSecond: number
} {
  return {
    challengesPerPeer: config.proofChallengesPerPeer,
    strangerChallengesPerSubnet: config.proofChallengesPerSubnet,
    firstCooldownMs: config.proofFailureCooldown,
    maxCooldownMs: config.proofMaxCooldown,
    subnetFailureBurst: config.proofSubnetFailureBurst,
    subnetFailuresPerSecond: config.proofSubnetFailuresPerSecond,
    strangerFailureBurst: config.proofStrangerFailureBurst,
    strangerFailuresPerSecond: config.proofStrangerFailuresPerSecond
  }
}

/** The audit budget's limits in `config`, as audit-budget.ts takes them. */
export function auditLimitsOf (config: NodeConfig): Record<'stranger' | 'network' | 'known', { perSecond: number, burst: number }> {
  return {
    stranger: { perSecond: config.auditsPerStranger, burst: 2 * config.auditsPerStranger },
    network: { perSecond: config.auditsPerSubnet, burst: 2 * config.auditsPerSubnet },
    known: { perSecond: config.auditsPerKnownPeer, burst: 8 * config.auditsPerKnownPeer }
  }
}

/** The placement policy in `config`. */
export function placementPolicyOf (config: NodeConfig): PlacementPolicy {
  return {
    maxSubnetShare: config.placementSubnetShare,
    maxNewCohortShare: config.placementNewCohortShare,
    newCohortMs: config.placementNewCohort,
    maxWeightBytes: config.placementMaxWeight,
    matureAfterMs: config.placementMatureAfter
  }
}

/**
 * The least memory budget of a peer: two of the largest frames (a chunk in, its answer
 * out) and the 1 MiB window a stream's peer may send past them (wire/constants.ts
 * STREAM_WINDOW_BYTES), which its reader reserves.
 */
export const MIN_PEER_MEMORY_BUDGET = 4 * 2 ** 20

/** The per-peer quota in force for `config`. */
export function peerQuotaOf (config: Pick<NodeConfig, 'capacity' | 'peerQuota'>): number {
  return config.peerQuota ?? Math.floor(config.capacity / 4)
}

/** The bytes all strangers together may store, for `config`. */
export function strangersCapacityOf (config: Pick<NodeConfig, 'capacity' | 'strangersCapacity'>): number {
  return Math.min(config.capacity, config.strangersCapacity ?? Math.floor(config.capacity / 2))
}

/** Settings without a default value: unset means "derived" (see each one's comment). */
export const OPTIONAL_SETTINGS: readonly string[] = ['peerQuota', 'strangersCapacity', 'strangersPerSubnet', 'peerBookPerSubnet', 'logFile', 'limitUpload', 'limitDownload', 'dashboard', 'dashboardPassword', 'site']

/** The bytes the strangers of one public subnet may store together, for `config`. */
export function strangersPerSubnetOf (config: Pick<NodeConfig, 'capacity' | 'strangersCapacity' | 'strangersPerSubnet'>): number {
  const strangers = strangersCapacityOf(config)
  return Math.min(strangers, config.strangersPerSubnet ?? Math.floor(strangers / 4))
}

/** The most peer-book entries from one public subnet, for `config`. */
export function peerBookPerSubnetOf (config: Pick<NodeConfig, 'peerBookSize' | 'peerBookPerSubnet'>): number {
  return Math.min(config.peerBookSize, config.peerBookPerSubnet ?? Math.max(4, Math.floor(config.peerBookSize / 16)))
}

/** Bounds of the duration settings, in milliseconds. */
const DURATIONS = {
  announceInterval: [100, 24 * 3_600_000],
  announceWindow: [1000, 24 * 3_600_000],
  livenessInterval: [100, 24 * 3_600_000],
  pingTimeout: [100, 10 * 60_000],
  unreachableAfter: [100, 7 * 24 * 3_600_000],
  discoveryInterval: [100, 24 * 3_600_000],
  peerStaleAfter: [60_000, 365 * 24 * 3_600_000],
  writeDrainTimeout: [100, 10 * 60_000],
  auditEvery: [100, 30 * 24 * 3_600_000],
  repairAfter: [100, 365 * 24 * 3_600_000],
  leaseDuration: [1000, 10 * 365 * 24 * 3_600_000],
  leaseTrash: [0, 365 * 24 * 3_600_000],
  leaseRenewEvery: [100, 365 * 24 * 3_600_000],
  leaseSweepEvery: [100, 24 * 3_600_000],
  resumeGrace: [0, 365 * 24 * 3_600_000],
  proofFailureCooldown: [100, 24 * 3_600_000],
  proofMaxCooldown: [100, 24 * 3_600_000],
  placementNewCohort: [0, 24 * 24 * 3_600_000],
  placementMatureAfter: [1000, 24 * 24 * 3_600_000]
} as const

const LEASE_SPANS = new Set<keyof typeof DURATIONS>(['leaseDuration', 'leaseTrash', 'resumeGrace'])

/** Validates a parsed config.json (or flag overrides) into a NodeConfig. */
export function parseNodeConfig (raw: unknown, source = 'config'): NodeConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${source}: expected a JSON object`)
  }
  const input = raw as Record<string, unknown>
  const known = new Set([...Object.keys(DEFAULT_CONFIG), ...OPTIONAL_SETTINGS])
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new ConfigError(`${source}: unknown setting "${key}"`)
  }
  const duration = (key: keyof typeof DURATIONS): number => input[key] === undefined ? DEFAULT_CONFIG[key] : parseDurationSetting(key, input[key], source)
  const count = (key: CountKey, min: number, max: number): number => input[key] === undefined ? DEFAULT_CONFIG[key] : parseCount(key, input[key], min, max, source)
  return {
    listen: input.listen === undefined ? DEFAULT_CONFIG.listen : parseListen(input.listen, source),
    api: input.api === undefined ? DEFAULT_CONFIG.api : parseApiAddress(input.api, source),
    capacity: input.capacity === undefined ? DEFAULT_CONFIG.capacity : parseCapacity(input.capacity, source),
    ...(input.peerQuota === undefined ? {} : { peerQuota: parseCapacity(input.peerQuota, `${source}: "peerQuota"`) }),
    newcomerAllowance: input.newcomerAllowance === undefined ? DEFAULT_CONFIG.newcomerAllowance : parseCapacity(input.newcomerAllowance, `${source}: "newcomerAllowance"`),
    ...(input.strangersCapacity === undefined ? {} : { strangersCapacity: parseCapacity(input.strangersCapacity, `${source}: "strangersCapacity"`) }),
    ...(input.strangersPerSubnet === undefined ? {} : { strangersPerSubnet: parseCapacity(input.strangersPerSubnet, `${source}: "strangersPerSubnet"`) }),
    publicAddresses: input.publicAddresses === undefined ? DEFAULT_CONFIG.publicAddresses : parsePublicAddresses(input.publicAddresses, source),
    federation: input.federation === undefined ? DEFAULT_CONFIG.federation : parseFederation(input.federation, source),
    ...(input.site === undefined ? {} : { site: parseSite(input.site, source) }),
    mdns: input.mdns === undefined ? DEFAULT_CONFIG.mdns : parseBoolean('mdns', input.mdns, source),
    bootstrap: input.bootstrap === undefined ? DEFAULT_CONFIG.bootstrap : parseBootstrap(input.bootstrap, source),
    dhtMode: input.dhtMode === undefined ? DEFAULT_CONFIG.dhtMode : parseDhtMode(input.dhtMode, source),
    relayServer: input.relayServer === undefined ? DEFAULT_CONFIG.relayServer : parseBoolean('relayServer', input.relayServer, source),
    relayReservations: count('relayReservations', 1, 10_000),
    relayReservationsPerSubnet: count('relayReservationsPerSubnet', 1, 10_000),
    relayStrangerRate: input.relayStrangerRate === undefined ? DEFAULT_CONFIG.relayStrangerRate : parseRateLimit(input.relayStrangerRate, `${source}: "relayStrangerRate"`),
    upnp: input.upnp === undefined ? DEFAULT_CONFIG.upnp : parseBoolean('upnp', input.upnp, source),
    ...(input.limitUpload === undefined ? {} : { limitUpload: parseRateLimit(input.limitUpload, `${source}: "limitUpload"`) }),
    ...(input.limitDownload === undefined ? {} : { limitDownload: parseRateLimit(input.limitDownload, `${source}: "limitDownload"`) }),
    announceInterval: duration('announceInterval'),
    announceWindow: duration('announceWindow'),
    livenessInterval: duration('livenessInterval'),
    pingTimeout: duration('pingTimeout'),
    unreachableAfterFailures: count('unreachableAfterFailures', 1, 1000),
    unreachableAfter: duration('unreachableAfter'),
    discoveryInterval: duration('discoveryInterval'),
    peerBookSize: count('peerBookSize', 10, 100_000),
    ...(input.peerBookPerSubnet === undefined ? {} : { peerBookPerSubnet: parseCount('peerBookPerSubnet', input.peerBookPerSubnet, 1, 100_000, source) }),
    peerStaleAfter: duration('peerStaleAfter'),
    newPeersPerRelay: count('newPeersPerRelay', 1, 1000),
    unverifiedPeers: count('unverifiedPeers', 1, 10_000),
    proofWorkers: count('proofWorkers', 1, 16),
    logLevel: input.logLevel === undefined ? DEFAULT_CONFIG.logLevel : parseLogLevel(input.logLevel, source),
    logFormat: input.logFormat === undefined ? DEFAULT_CONFIG.logFormat : parseLogFormat(input.logFormat, source),
    ...(input.logFile === undefined ? {} : { logFile: parseLogFile(input.logFile, source) }),
    ...(input.dashboard === undefined ? {} : { dashboard: parseDashboardAddress(input.dashboard, source) }),
    ...(input.dashboardPassword === undefined ? {} : { dashboardPassword: parseDashboardPassword(input.dashboardPassword, source) }),
    ...parseBudgets(input, source, count, duration),
    erasure: input.erasure === undefined ? DEFAULT_CONFIG.erasure : parseErasure(input.erasure, source),
    auditEvery: duration('auditEvery'),
    auditSample: count('auditSample', 1, 1024),
    repairAfter: duration('repairAfter'),
    repairBandwidth: input.repairBandwidth === undefined ? DEFAULT_CONFIG.repairBandwidth : parseRateLimit(input.repairBandwidth, `${source}: "repairBandwidth"`),
    repairConcurrency: count('repairConcurrency', 1, 64),
    ...parseLeases(duration, source),
    auditsPerStranger: count('auditsPerStranger', 1, 100_000),
    auditsPerSubnet: count('auditsPerSubnet', 1, 100_000),
    auditsPerKnownPeer: count('auditsPerKnownPeer', 1, 100_000),
    ...parseProofAdmission(input, source, count, duration),
    ...parsePlacement(input, source, duration)
  }
}

/** `resumeGrace`, any fault of it an InvalidResumeGraceError. */
function resumeGraceOf (duration: (key: 'resumeGrace') => number): number {
  try {
    return duration('resumeGrace')
  } catch (err) {
    throw new InvalidResumeGraceError((err as Error).message, { cause: err })
  }
}

/** The lease timers; a renewal period not inside the lease would let honest records lapse. */
function parseLeases (duration: (key: 'leaseDuration' | 'leaseTrash' | 'leaseRenewEvery' | 'leaseSweepEvery' | 'resumeGrace') => number, source: string): Pick<NodeConfig, 'leaseDuration' | 'leaseTrash' | 'leaseRenewEvery' | 'leaseSweepEvery' | 'resumeGrace'> {
  const leases = { leaseDuration: duration('leaseDuration'), leaseTrash: duration('leaseTrash'), leaseRenewEvery: duration('leaseRenewEvery'), leaseSweepEvery: duration('leaseSweepEvery'), resumeGrace: resumeGraceOf(duration) }
  // what a cut put stored is referenced by no catalogue, so nothing renews it: a longer
  // grace would wait for a re-run to adopt records the holders have collected. A config
  // written whole by `init` names the default grace, so a lease made shorter later
  // shortens it rather than refusing the file
  leases.resumeGrace = Math.min(leases.resumeGrace, leases.leaseDuration)
  if (leases.leaseRenewEvery * 2 > leases.leaseDuration) {
    throw new ConfigError(`${source}: "leaseRenewEvery" (${leases.leaseRenewEvery} ms) must be at most half of "leaseDuration" (${leases.leaseDuration} ms), so a missed renewal does not lose a record`)
  }
  return leases
}

type ProofAdmissionKey = 'proofChallengesPerPeer' | 'proofChallengesPerSubnet' | 'proofFailureCooldown' | 'proofMaxCooldown' |
'proofSubnetFailureBurst' | 'proofSubnetFailuresPerSecond' | 'proofStrangerFailureBurst' | 'proofStrangerFailuresPerSecond'

/** The proof admission's limits (proof-admission.ts), the cooldown within its maximum. */
function parseProofAdmission (
  input: Record<string, unknown>,
  source: string,
  count: (key: CountKey, min: number, max: number) => number,
  duration: (key: keyof typeof DURATIONS) => number
): Pick<NodeConfig, ProofAdmissionKey> {
  const limits = {
    proofChallengesPerPeer: count('proofChallengesPerPeer', 1, 10_000),
    proofChallengesPerSubnet: count('proofChallengesPerSubnet', 1, 10_000),
    proofFailureCooldown: duration('proofFailureCooldown'),
    proofMaxCooldown: duration('proofMaxCooldown'),
    proofSubnetFailureBurst: count('proofSubnetFailureBurst', 1, 1_000_000),
    proofSubnetFailuresPerSecond: count('proofSubnetFailuresPerSecond', 1, 1_000_000),
    proofStrangerFailureBurst: count('proofStrangerFailureBurst', 1, 1_000_000),
    proofStrangerFailuresPerSecond: count('proofStrangerFailuresPerSecond', 1, 1_000_000)
  }
  if (limits.proofFailureCooldown > limits.proofMaxCooldown) {
    throw new ConfigError(`${source}: "proofFailureCooldown" (${limits.proofFailureCooldown} ms) cannot exceed "proofMaxCooldown" (${limits.proofMaxCooldown} ms)`)
  }
  return limits
}

type PlacementKey = 'placementSubnetShare' | 'placementNewCohortShare' | 'placementNewCohort' | 'placementMaxWeight' | 'placementMatureAfter'

/** The placement policy (placement.ts): shares above 0 and at most 1. */
function parsePlacement (input: Record<string, unknown>, source: string, duration: (key: keyof typeof DURATIONS) => number): Pick<NodeConfig, PlacementKey> {
  const share = (key: 'placementSubnetShare' | 'placementNewCohortShare'): number => {
    const value = input[key]
    if (value === undefined) return DEFAULT_CONFIG[key]
    if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new ConfigError(`${source}: "${key}" must be a number above 0 and at most 1, such as 0.33`)
    return value
  }
  return {
    placementSubnetShare: share('placementSubnetShare'),
    placementNewCohortShare: share('placementNewCohortShare'),
    placementNewCohort: duration('placementNewCohort'),
    placementMaxWeight: input.placementMaxWeight === undefined ? DEFAULT_CONFIG.placementMaxWeight : parseCapacity(input.placementMaxWeight, `${source}: "placementMaxWeight"`),
    placementMatureAfter: duration('placementMatureAfter')
  }
}

export function parseLogLevel (value: unknown, source = 'config'): LogLevel {
  if (!LOG_LEVELS.includes(value as LogLevel)) throw new ConfigError(`${source}: "logLevel" must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`)
  return value as LogLevel
}

export function parseLogFormat (value: unknown, source = 'config'): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw new ConfigError(`${source}: "logFormat" must be text or json, got ${JSON.stringify(value)}`)
  return value
}

export function parseDashboardAddress (value: unknown, source = 'config'): string {
  const match = typeof value === 'string' ? /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value) : null
  if (match === null || Number(match[2]) > 65535) throw new ConfigError(`${source}: "dashboard" must be HOST:PORT such as 0.0.0.0:4103, got ${JSON.stringify(value)}`)
  return value as string
}

/** At least 12 characters: on the LAN it is the one secret between a visitor and the owner's files. */
export function parseDashboardPassword (value: unknown, source = 'config'): string {
  if (typeof value !== 'string' || value.length < 12 || value.length > 1024) throw new ConfigError(`${source}: "dashboardPassword" must be a string of 12 to 1024 characters`)
  return value
}

export function parseLogFile (value: unknown, source = 'config'): string {
  if (typeof value !== 'string' || value.trim() === '' || value.includes('\0')) throw new ConfigError(`${source}: "logFile" must be a file path`)
  return value
}


type BudgetKey = 'memoryBudget' | 'peerMemoryBudget' | 'subnetMemoryBudget' | 'maxStreams' | 'maxStreamsPerPeer' | 'maxStreamsPerSubnet' |
'strangersShare' | 'strangerStreamsPerSecond' | 'strangerStreamBurst' | 'strangerStoreRate' | 'strangersStoreRate' | 'maxConnections' | 'maxConnectionsPerSubnet' | 'newConnectionsPerMinute' | 'newConnectionsPerSubnetPerMinute' | 'newDialsPerMinute' | 'writeDrainTimeout'

/** The resource budgets (src/domain/resources/resource-budget.ts), each within the one it is a part of. */
function parseBudgets (
  input: Record<string, unknown>,
  source: string,
  count: (key: CountKey, min: number, max: number) => number,
  duration: (key: keyof typeof DURATIONS) => number
): Pick<NodeConfig, BudgetKey> {
  const size = (key: 'memoryBudget' | 'peerMemoryBudget' | 'subnetMemoryBudget'): number => {
    const value = input[key] === undefined ? DEFAULT_CONFIG[key] : parseCapacity(input[key], `${source}: "${key}"`)
    if (value < MIN_PEER_MEMORY_BUDGET) throw new ConfigError(`${source}: "${key}" must be at least 4MiB (a chunk in, its answer out and a stream's window)`)
    return value
  }
  const rate = (key: 'strangerStoreRate' | 'strangersStoreRate'): number =>
    input[key] === undefined ? DEFAULT_CONFIG[key] : parseRateLimit(input[key], `${source}: "${key}"`)
  const budgets = {
    memoryBudget: size('memoryBudget'),
    peerMemoryBudget: size('peerMemoryBudget'),
    subnetMemoryBudget: size('subnetMemoryBudget'),
    maxStreams: count('maxStreams', 1, 1_000_000),
    maxStreamsPerPeer: count('maxStreamsPerPeer', 1, 1_000_000),
    maxStreamsPerSubnet: count('maxStreamsPerSubnet', 1, 1_000_000),
    strangersShare: input.strangersShare === undefined ? DEFAULT_CONFIG.strangersShare : parseShare(input.strangersShare, source),
    strangerStreamsPerSecond: count('strangerStreamsPerSecond', 1, 1_000_000),
    strangerStreamBurst: count('strangerStreamBurst', 1, 1_000_000),
    strangerStoreRate: rate('strangerStoreRate'),
    strangersStoreRate: rate('strangersStoreRate'),
    maxConnections: count('maxConnections', 1, 100_000),
    maxConnectionsPerSubnet: count('maxConnectionsPerSubnet', 1, 100_000),
    newConnectionsPerMinute: count('newConnectionsPerMinute', 1, 1_000_000),
    newConnectionsPerSubnetPerMinute: count('newConnectionsPerSubnetPerMinute', 1, 1_000_000),
    newDialsPerMinute: count('newDialsPerMinute', 1, 1_000_000),
    writeDrainTimeout: duration('writeDrainTimeout')
  }
  const within = (part: BudgetKey, whole: BudgetKey): void => {
    if (budgets[part] > budgets[whole]) throw new ConfigError(`${source}: "${part}" (${budgets[part]}) cannot exceed "${whole}" (${budgets[whole]})`)
  }
  within('peerMemoryBudget', 'subnetMemoryBudget')
  within('subnetMemoryBudget', 'memoryBudget')
  within('maxStreamsPerPeer', 'maxStreamsPerSubnet')
  within('maxStreamsPerSubnet', 'maxStreams')
  within('maxConnectionsPerSubnet', 'maxConnections')
  // a lower ceiling set alone lowers the subnets' default with it
  if (input.newConnectionsPerSubnetPerMinute === undefined) budgets.newConnectionsPerSubnetPerMinute = Math.min(budgets.newConnectionsPerSubnetPerMinute, budgets.newConnectionsPerMinute)
  within('newConnectionsPerSubnetPerMinute', 'newConnectionsPerMinute')
  // one subnet's rate set alone raises the strangers' with it
  if (input.strangersStoreRate === undefined) budgets.strangersStoreRate = Math.max(budgets.strangersStoreRate, budgets.strangerStoreRate)
  within('strangerStoreRate', 'strangersStoreRate')
  return budgets
}

function parseShare (value: unknown, source: string): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new ConfigError(`${source}: "strangersShare" must be a number above 0 and at most 1, such as 0.5`)
  return value
}

export function parseListen (value: unknown, source = 'config'): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(`${source}: "listen" must be a non-empty list of multiaddrs`)
  return value.map((addr) => {
    try {
      return parseMultiaddrText(addr).text
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

/**
 * A rate limit: a size per second, e.g. "1MB" or "512KiB" (an optional "/s" is allowed),
 * at least MIN_RATE_LIMIT.
 */
export function parseRateLimit (value: unknown, source = 'config'): number {
  let bytes: number
  try {
    if (typeof value !== 'number' && typeof value !== 'string') throw new Error('expected a size per second such as "1MB"')
    bytes = parseSize(String(value).replace(/\/s$/i, ''))
  } catch (err) {
    throw new ConfigError(`${source}: ${(err as Error).message}`, { cause: err })
  }
  if (bytes < MIN_RATE_LIMIT) {
    throw new ConfigError(`${source}: ${bytes} bytes/s is below the ${MIN_RATE_LIMIT} bytes/s (64 KiB/s) minimum: holders drop streams slower than 16 KiB/s each`)
  }
  return bytes
}

/** Public addresses: multiaddrs without a /p2p/ part (libp2p appends this node's). */
export function parsePublicAddresses (value: unknown, source = 'config'): string[] {
  if (!Array.isArray(value)) throw new ConfigError(`${source}: "publicAddresses" must be a list of multiaddrs such as /ip4/203.0.113.7/tcp/4101`)
  return value.map((addr) => {
    try {
      const parsed = parseMultiaddrText(addr)
      if (parsed.components.some((c) => c.name === 'p2p')) throw new Error('leave out /p2p/')
      return parsed.text
    } catch (err) {
      throw new ConfigError(`${source}: "publicAddresses": ${JSON.stringify(addr)}: ${(err as Error).message}`, { cause: err })
    }
  })
}

/** A site name (site.ts); InvalidSiteError, a ConfigError, says the rule otherwise. */
export function parseSite (value: unknown, source = 'config'): string {
  return checkSiteName(value, `${source}: "site"`)
}

export function parseFederation (value: unknown, source = 'config'): string {
  try {
    return checkFederationName(value)
  } catch (err) {
    throw new ConfigError(`${source}: "federation": ${(err as Error).message}`, { cause: err })
  }
}

/** Bootstrap multiaddrs: each must name its peer (`.../p2p/<peer id>`). */
export function parseBootstrap (value: unknown, source = 'config'): string[] {
  if (!Array.isArray(value)) throw new ConfigError(`${source}: "bootstrap" must be a list of multiaddrs ending in /p2p/<peer id>`)
  return value.map((addr) => {
    let parsed
    try {
      parsed = parseMultiaddrText(addr)
    } catch (err) {
      throw new ConfigError(`${source}: "bootstrap": not a multiaddr: ${JSON.stringify(addr)}`, { cause: err })
    }
    if (parsed.components.at(-1)?.name !== 'p2p') {
      throw new ConfigError(`${source}: "bootstrap": ${addr} must end in /p2p/<peer id> (the peer id is printed by \`quloud status\`)`)
    }
    return parsed.text
  })
}

export function parseDhtMode (value: unknown, source = 'config'): DhtMode {
  if (!DHT_MODES.includes(value as DhtMode)) throw new ConfigError(`${source}: "dhtMode" must be one of ${DHT_MODES.join(', ')}, got ${JSON.stringify(value)}`)
  return value as DhtMode
}

/** The `erasure` setting, checked: "auto", "K+M" or "replicas:N". */
export function parseErasure (value: unknown, source = 'config'): string {
  try {
    if (typeof value !== 'string') throw new Error('expected a string')
    parseSchemeChoice(value)
    return value
  } catch (err) {
    throw new ConfigError(`${source}: "erasure" must be "auto", "K+M" (such as "4+2") or "replicas:N": ${(err as Error).message}`, { cause: err })
  }
}

function parseBoolean (key: string, value: unknown, source: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(`${source}: "${key}" must be true or false`)
  return value
}

type CountKey = 'unreachableAfterFailures' | 'peerBookSize' | 'newPeersPerRelay' | 'unverifiedPeers' | 'proofWorkers' | 'relayReservations' | 'relayReservationsPerSubnet' |
'maxStreams' | 'maxStreamsPerPeer' | 'maxStreamsPerSubnet' | 'maxConnections' | 'maxConnectionsPerSubnet' | 'newConnectionsPerMinute' | 'newConnectionsPerSubnetPerMinute' | 'newDialsPerMinute' |
'strangerStreamsPerSecond' | 'strangerStreamBurst' | 'auditSample' | 'repairConcurrency' | 'auditsPerStranger' | 'auditsPerSubnet' | 'auditsPerKnownPeer' |
'proofChallengesPerPeer' | 'proofChallengesPerSubnet' | 'proofSubnetFailureBurst' | 'proofSubnetFailuresPerSecond' |
'proofStrangerFailureBurst' | 'proofStrangerFailuresPerSecond'

function parseCount (key: CountKey | 'peerBookPerSubnet', value: unknown, min: number, max: number, source: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new ConfigError(`${source}: "${key}" must be a whole number from ${min} to ${max}`)
  }
  return value as number
}

function parseDurationSetting (key: keyof typeof DURATIONS, value: unknown, source: string): number {
  const [min, max] = DURATIONS[key]
  let ms: number
  try {
    // a lease is compared with the clock, never waited for: it may pass a timer's limit
    ms = LEASE_SPANS.has(key) ? parseDuration(value, max) : parseDuration(value)
  } catch (err) {
    throw new ConfigError(`${source}: "${key}": ${(err as Error).message}`, { cause: err })
  }
  if (ms < min || ms > max) throw new ConfigError(`${source}: "${key}" must be between ${min} ms and ${max} ms, got ${ms} ms`)
  return ms
}
