// A federation of real daemons (src/assembly/daemon.ts startNode) in one process, each
// with its own data directory, libp2p host on 127.0.0.1 and control API, for the churn
// simulation (bench/churn.bench.ts) and its short version (test/churn.test.ts). Storage
// nodes leave for good (stopped, data directory removed) and new ones join, while one
// owner's daemon audits, repairs and renews on timers scaled to a simulated month.
import { randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { callApi, findDaemon, type ApiEndpoint } from '../../src/adapters/control-api/control-api-client.ts'
import { FILES, initDataDir } from '../../src/adapters/data-dir/data-dir.ts'
import { silentLoggerFactory } from '../../src/adapters/logging/stderr-logger.ts'
import { startNode, type RunningNode } from '../../src/assembly/daemon.ts'
import type { RepairQueue } from '../../src/app/owner/repair-service.ts'
import { DEFAULT_CONFIG, type NodeConfig } from '../../src/domain/config/node-config.ts'
import type { FileHealth } from '../../src/domain/formats/manifest-health.ts'
import type { LoggerFactory } from '../../src/ports/logger.ts'

const DAY_PER_MONTH = 30

/**
 * The timers of a federation whose month lasts `monthMs`: repair after one simulated day
 * (the model's repair time), audits twice a day, leases of two months (at least five
 * real minutes) renewed six times in one. Liveness runs on real seconds: a ping is a network round trip, not a day.
 * Placement's new cohort (an hour) and maturity (a week) are scaled too, so a newcomer
 * of the simulation is new as long as one of a real federation.
 */
export function churnTimers (monthMs: number): Partial<NodeConfig> {
  const day = monthMs / DAY_PER_MONTH
  return {
    repairAfter: Math.max(100, Math.round(day)),
    auditEvery: Math.max(500, Math.round(day / 2)),
    auditSample: 1,
    // a renewal round proves per file and holder (tens of seconds on a loaded test bed) and
    // the next starts an interval after it ends: a month-long lease renewed three times a
    // month would lapse here between rounds, which a real month never sees
    leaseDuration: Math.max(2 * monthMs, 300_000),
    leaseRenewEvery: Math.round(Math.max(2 * monthMs, 300_000) / 6),
    leaseTrash: Math.max(10_000, Math.round(7 * day)),
    leaseSweepEvery: Math.max(500, Math.round(day)),
    // a newcomer is "new" for an hour of a month's 720, and matures in a week
    placementNewCohort: Math.max(100, Math.round(monthMs / 720)),
    placementMatureAfter: Math.max(100, Math.round(7 * day)),
    // membership on real seconds, as slow as detection allows: every node of the
    // federation shares this process's main thread, and 31 nodes announcing every 3 s and
    // pinging every peer every 3 s kept it busy enough to slow a put to a crawl
    announceInterval: 10_000,
    livenessInterval: 5000,
    pingTimeout: 5000,
    unreachableAfterFailures: 2,
    unreachableAfter: 10_000,
    discoveryInterval: 30_000
  }
}

/**
 * Every node of the simulation shares 127.0.0.1, which the per-subnet caps take for one
 * network: in the federation simulated each box has its own. The caps are raised so they
 * do not measure the test bed (they have their own tests); the node-wide ones stay.
 */
const ONE_HOST: Partial<NodeConfig> = {
  maxConnectionsPerSubnet: 256,
  maxConnections: 256,
  newConnectionsPerMinute: 10_000,
  newConnectionsPerSubnetPerMinute: 10_000,
  newDialsPerMinute: 10_000,
  maxStreamsPerSubnet: 512,
  subnetMemoryBudget: 256 * 2 ** 20,
  proofChallengesPerSubnet: 256,
  auditsPerSubnet: 1000,
  auditsPerStranger: 1000
}

export interface ChurnNode {
  name: string
  dataDir: string
  node: RunningNode
  endpoint: ApiEndpoint
  /** When it joined, ms since the epoch. */
  joinedAt: number
}

export interface ChurnFederationInit {
  /** A directory the federation may fill; the caller removes it. */
  dir: string
  monthMs: number
  /** Further settings for every node. */
  config?: Partial<NodeConfig>
  /** The owner daemon's log (default: none); storage nodes log nothing. */
  ownerLoggers?: LoggerFactory
}

/** One owner and its storage nodes, all daemons in this process. */
export class ChurnFederation {
  readonly federation = `churn-${randomBytes(4).toString('hex')}`
  owner: ChurnNode | undefined
  readonly storage: ChurnNode[] = []
  private readonly init: ChurnFederationInit
  private counter = 0

  constructor (init: ChurnFederationInit) {
    this.init = init
  }

  /** Starts the owner, then `count` storage nodes (a few at once) bootstrapped from it. */
  async start (count: number, parallel = 6): Promise<void> {
    this.owner = await this.startOne('owner', [], this.init.ownerLoggers)
    const bootstrap = this.addressesOf(this.owner)
    for (let i = 0; i < count; i += parallel) {
      const batch = Math.min(parallel, count - i)
      this.storage.push(...await Promise.all(Array.from({ length: batch }, async () => this.startOne(`s${this.counter++}`, bootstrap))))
    }
  }

  /** A new storage node, bootstrapped from the owner (a home box's first peer is someone it knows). */
  async join (): Promise<ChurnNode> {
    const node = await this.startOne(`s${this.counter++}`, this.addressesOf(this.owner!))
    this.storage.push(node)
    return node
  }

  /** `node` leaves for good: stopped, and its data directory with every shard removed. */
  async leave (node: ChurnNode): Promise<void> {
    this.storage.splice(this.storage.indexOf(node), 1)
    await node.node.stop()
    await rm(node.dataDir, { recursive: true, force: true })
  }

  /** Live peers the owner's membership counts. */
  async livePeers (): Promise<number> {
    return (await this.owner!.node.membership.livePeers()).length
  }

  async put (paths: string[]): Promise<Array<{ id: string, name: string, size: number, holders: string[] }>> {
    return callApi(this.owner!.endpoint, 'POST', '/v1/put', { paths }, { timeoutMs: 600_000 })
  }

  async get (ref: string, output: string): Promise<void> {
    await callApi(this.owner!.endpoint, 'POST', '/v1/get', { ref, output, cwd: this.init.dir, existing: 'overwrite' }, { timeoutMs: 600_000 })
  }

  /** Health per file id, as `ls --json` shows it (files no audit round has read yet are missing). */
  async health (): Promise<Map<string, FileHealth>> {
    const files = await callApi<Array<{ fileId: string, health?: FileHealth }>>(this.owner!.endpoint, 'GET', '/v1/files', undefined, { timeoutMs: 60_000 })
    return new Map(files.flatMap((f) => f.health === undefined ? [] : [[f.fileId, f.health] as const]))
  }

  async repair (): Promise<RepairQueue> {
    return callApi<RepairQueue>(this.owner!.endpoint, 'GET', '/v1/repair', undefined, { timeoutMs: 60_000 })
  }

  /**
   * Records the storage nodes still here trashed and collected after their lease ran out
   * (their /metrics): what the owner stopped referencing, or failed to renew in time.
   */
  async leaseSweeps (): Promise<{ trashed: number, collected: number }> {
    const sums = { trashed: 0, collected: 0 }
    await Promise.all(this.storage.map(async (n) => {
      const token = (await readFile(join(n.dataDir, FILES.metricsToken), 'utf8')).trim()
      const text = await (await fetch(`${n.endpoint.url}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) })).text()
      for (const action of ['trashed', 'collected'] as const) {
        const match = new RegExp(`^quloud_lease_records_total\\{action="${action}"\\} (\\d+)`, 'm').exec(text)
        sums[action] += Number(match?.[1] ?? 0)
      }
    }))
    return sums
  }

  /** Stops every node, storage first. */
  async stop (): Promise<void> {
    const all = [...this.storage.splice(0), ...(this.owner === undefined ? [] : [this.owner])]
    this.owner = undefined
    await Promise.allSettled(all.map(async (n) => n.node.stop()))
  }

  private addressesOf (node: ChurnNode): string[] {
    return node.node.membership.host.getMultiaddrs().map((a) => a.toString()).filter((a) => a.includes('/ip4/127.0.0.1/'))
  }

  private async startOne (name: string, bootstrap: string[], loggers: LoggerFactory = silentLoggerFactory): Promise<ChurnNode> {
    const dataDir = join(this.init.dir, `${name}-${randomBytes(3).toString('hex')}`)
    await initDataDir(dataDir, randomBytes(32), {
      ...DEFAULT_CONFIG,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      api: '127.0.0.1:0',
      mdns: false,
      federation: this.federation,
      bootstrap,
      capacity: 4 * 2 ** 30,
      ...ONE_HOST,
      ...churnTimers(this.init.monthMs),
      ...this.init.config
    })
    const node = await startNode({ dataDir, loggers })
    return { name, dataDir, node, endpoint: await findDaemon(dataDir), joinedAt: Date.now() }
  }
}
