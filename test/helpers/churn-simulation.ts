// The churn simulation over a ChurnFederation: files put with the default scheme, then
// storage nodes leaving for good at a monthly rate (each replaced by a newcomer) while
// the owner's daemon repairs; then every file read back. What it measures is in
// ChurnReport. Used by bench/churn.bench.ts (30 nodes, months) and test/churn.test.ts.
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { callApi } from '../../src/adapters/control-api/control-api-client.ts'
import { lineLoggerFactory } from '../../src/adapters/logging/stderr-logger.ts'
import { ChurnFederation, type ChurnNode } from './churn-federation.ts'
import { seededRandom } from './seeded-random.ts'

export interface ChurnSettings {
  /** A directory the run may fill; the caller removes it. */
  dir: string
  /** Storage nodes (the owner is one more). */
  nodes: number
  months: number
  /** Real milliseconds of one simulated month. */
  monthMs: number
  /** Share of the storage nodes that leave for good per month; each is replaced by a newcomer. */
  churn: number
  files: number
  fileBytes: number
  seed?: number
  /** How long the federation may take to form, the files to be whole, and so on. */
  ceilingMs?: number
  /** Told of each step (the bench prints them). */
  progress?: (line: string) => void
  /** A file for the owner daemon's log at level debug (default: no log). */
  ownerLog?: string
}

export interface LossRecord {
  node: string
  /** Simulated day of the run it left on. */
  day: number
  /** Bytes its chunk store held when it left (shards, manifest and catalogue pieces). */
  heldBytes: number
  /** Real seconds until the owner saw it gone, and until every file was whole again without it. */
  detectedAfterS?: number
  fullHealthAfterS?: number
}

export interface ChurnReport {
  nodes: number
  months: number
  monthSeconds: number
  churn: number
  files: number
  fileBytes: number
  scheme: string
  /** Files that did not read back byte-identical at the end (target 0). */
  filesLost: number
  /** The fewest spare shards any file had at any look: healthy minus needed (below 0: unreadable then). */
  lowestMargin: number
  losses: LossRecord[]
  joins: number
  repairBytes: number
  repairedShards: number
  repairBytesPerLoss: number
  /** Repair bytes over the bytes the departed nodes held. */
  repairToHeld: number
  /** Over the losses of nodes that held something of the owner's. */
  fullHealthS: { median: number, max: number }
  /** Whether every file was whole at the end. */
  wholeAtEnd: boolean
  /** Records the storage nodes left at the end had trashed or collected after their lease ran out. */
  leaseSweeps: { trashed: number, collected: number }
  peakRssMb: number
  elapsedS: number
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

export async function runChurn (settings: ChurnSettings): Promise<ChurnReport> {
  const started = performance.now()
  const say = settings.progress ?? (() => {})
  const ceiling = settings.ceilingMs ?? 600_000
  const random = seededRandom(settings.seed ?? 1)
  const dayMs = settings.monthMs / 30
  const ownerLog = settings.ownerLog === undefined ? undefined : createWriteStream(settings.ownerLog)
  const federation = new ChurnFederation({
    dir: settings.dir,
    monthMs: settings.monthMs,
    ...(ownerLog === undefined ? {} : { ownerLoggers: lineLoggerFactory((line) => ownerLog.write(line), { level: 'debug' }) })
  })
  try {
    await federation.start(settings.nodes)
    say(`${settings.nodes} storage nodes and the owner started in ${seconds(started)} s`)
    await until(async () => await federation.livePeers() >= settings.nodes, ceiling, 'the owner to see every storage node live')
    say(`the owner sees ${await federation.livePeers()} live peers after ${seconds(started)} s`)

    const input = join(settings.dir, 'in')
    await mkdir(input, { recursive: true })
    const digests = new Map<string, string>()
    const paths: string[] = []
    for (let i = 0; i < settings.files; i++) {
      const path = join(input, `file-${i}.bin`)
      const bytes = randomBytes(settings.fileBytes)
      await writeFile(path, bytes)
      paths.push(path)
      digests.set(path, sha256(bytes))
    }
    // the default scheme: the put names none, the owner's `erasure` setting is `auto`
    const put = await federation.put(paths)
    const files = new Map(put.map((p, i) => [p.id, paths[i]!]))
    say(`put ${settings.files} x ${settings.fileBytes} B after ${seconds(started)} s`)
    let lowestMargin = Infinity
    const look = async (): Promise<boolean> => {
      const health = await federation.health()
      for (const h of health.values()) lowestMargin = Math.min(lowestMargin, h.healthy - h.needed)
      return health.size === files.size && [...health.values()].every((h) => h.healthy >= h.total)
    }
    await until(look, ceiling, 'an audit round to read every new file')
    const [sample] = (await federation.health()).values()
    const scheme = sample === undefined ? '?' : sample.total === sample.needed ? `${sample.total} copies` : `${sample.needed}+${sample.total - sample.needed}`
    say(`every file whole (${scheme}) after ${seconds(started)} s; churn starts`)

    // departures evenly spread over the months, the first half a gap in
    const departures = Math.round(settings.nodes * settings.churn * settings.months)
    const spanMs = settings.months * settings.monthMs
    const schedule = Array.from({ length: departures }, (_, i) => ((i + 0.5) * spanMs) / departures)
    const losses: Array<LossRecord & { at: number, peerId: string }> = []
    let joins = 0
    const churnStart = performance.now()
    const repairBefore = (await federation.repair()).repairBytes
    let next = 0
    while (next < schedule.length || losses.some((l) => l.fullHealthAfterS === undefined)) {
      const now = performance.now() - churnStart
      if (next < schedule.length && now >= schedule[next]!) {
        next++
        const victim = federation.storage[Math.floor(random() * federation.storage.length)]!
        const heldBytes = (await callApi<{ usedBytes: number }>(victim.endpoint, 'GET', '/v1/status', undefined, { timeoutMs: 60_000 })).usedBytes
        await federation.leave(victim)
        losses.push({ node: victim.name, peerId: victim.node.peerId, day: Math.round(now / dayMs), heldBytes, at: performance.now() })
        const newcomer: ChurnNode = await federation.join()
        joins++
        say(`day ${Math.round(now / dayMs)}: ${victim.name} left holding ${heldBytes} B; ${newcomer.name} joined`)
      }
      const live = new Set((await federation.owner!.node.membership.livePeers()).map((p) => p.peerId))
      // a look the busy daemon did not answer in time is a look that saw nothing whole
      const whole = await look().catch(() => false)
      for (const loss of losses) {
        if (loss.detectedAfterS === undefined && !live.has(loss.peerId)) loss.detectedAfterS = (performance.now() - loss.at) / 1000
        if (loss.fullHealthAfterS === undefined && loss.detectedAfterS !== undefined && whole) {
          loss.fullHealthAfterS = (performance.now() - loss.at) / 1000
          say(`  every file whole again ${loss.fullHealthAfterS.toFixed(1)} s after ${loss.node} left`)
        }
      }
      const oldest = losses.find((l) => l.fullHealthAfterS === undefined)
      if (oldest !== undefined && performance.now() - oldest.at > ceiling) throw new Error(`files not whole ${ceiling} ms after ${oldest.node} left`)
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    const queue = await federation.repair()
    const wholeAtEnd = await look()
    const leaseSweeps = await federation.leaseSweeps()

    // every file read back, byte-identical
    let filesLost = 0
    const output = join(settings.dir, 'out')
    await mkdir(output, { recursive: true })
    for (const [id, path] of files) {
      const target = join(output, `${id}.bin`)
      try {
        await federation.get(id, target)
        if (sha256(await readFile(target)) !== digests.get(path)) filesLost++
      } catch (err) {
        say(`  ${id} did not read back: ${(err as Error).message}`)
        filesLost++
      }
    }
    const repairBytes = queue.repairBytes - repairBefore
    const held = losses.reduce((sum, l) => sum + l.heldBytes, 0)
    // a node that held nothing of the owner's costs no repair: its time is only the owner noticing
    const times = losses.filter((l) => l.heldBytes > 0).map((l) => l.fullHealthAfterS!).sort((a, b) => a - b)
    return {
      nodes: settings.nodes,
      months: settings.months,
      monthSeconds: settings.monthMs / 1000,
      churn: settings.churn,
      files: settings.files,
      fileBytes: settings.fileBytes,
      scheme,
      filesLost,
      lowestMargin,
      losses: losses.map(({ at, peerId, ...l }) => l),
      joins,
      repairBytes,
      repairedShards: queue.repairedShards,
      repairBytesPerLoss: losses.length === 0 ? 0 : repairBytes / losses.length,
      repairToHeld: held === 0 ? 0 : repairBytes / held,
      fullHealthS: { median: times.length === 0 ? 0 : times[Math.floor((times.length - 1) / 2)]!, max: times.at(-1) ?? 0 },
      wholeAtEnd,
      leaseSweeps,
      peakRssMb: await peakRssMb(),
      elapsedS: seconds(started)
    }
  } finally {
    await federation.stop()
    ownerLog?.end()
  }
}

async function until (condition: () => Promise<boolean>, ceilingMs: number, what: string): Promise<void> {
  const deadline = performance.now() + ceilingMs
  let last: unknown
  while (performance.now() < deadline) {
    try {
      if (await condition()) return
    } catch (err) {
      last = err
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`timed out after ${ceilingMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`)
}

function seconds (since: number): number {
  return Math.round((performance.now() - since) / 100) / 10
}

/** This process's resident high-water mark (every node of the federation is in it), in MB. */
async function peakRssMb (): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024
}
