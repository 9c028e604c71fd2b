// Honest service while a node is attacked, one attack class at a time: an honest peer's
// handshake latency, put and get throughput and a newcomer's connection time against a
// real `quloud start` daemon, calm and then while another process attacks it, as ratios
// measured in the same run, with the daemon's peak RSS in each phase and the CPU the
// daemon and the attacker used. Goal: >= 0.7x of the calm figures.
//   npm run bench -- hostile              every class
//   npm run bench -- hostile proofs       the classes whose name starts with "proofs"
// BENCH_MIB (32) to get, BENCH_PUT_MIB (16) to put, BENCH_ROUNDS (5) of each, BENCH_HANDSHAKES (20), BENCH_ATTACK_IDS (3);
// the sybil fill's node has 1 GiB, half of it the strangers': 3 phases x ROUNDS x PUT_MIB + MIB must fit the rest;
// BENCH_NICED=0 or 1: only the attackers as they are, or only the niced ones.
// BENCH_PROF=DIR writes the daemon's CPU profile to DIR/<class>/ with the calm and attacked
// windows in DIR/windows.json: `bash scripts/node.sh bench/profile-summary.ts DIR` reads them.
//
// The attacker runs on the same two cores as the daemon and the honest peer: its own
// CPU is taken from theirs, which a remote attacker's would not be. Every class runs
// twice, as it is and as "<class>-niced", the attacker at nice 19: that models an
// attacker whose CPU is elsewhere (it still gets the cores the others leave idle, so
// it attacks as hard as it can with them); both rows are shown.
// The attacker's connections leave from 127.0.0.3 (the half-open sockets from
// 127.0.0.2), the honest peer's from 127.0.0.1: hosts of their own, as on a network.
import { spawn, type ChildProcess } from 'node:child_process'
import { availableParallelism, loadavg } from 'node:os'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { cpuSecondsOf, rssOf } from './daemon-federation.ts'
import { HonestPeer, type HonestFigures } from './hostile-honest.ts'
import { resetPeakRss, startVictim } from './hostile-victim.ts'
import { tempDir } from '../test/helpers/temp-dir.ts'

interface AttackClass {
  name: string
  attack: string
  what: string
  nice?: boolean
  /** The victim's config.json beyond the bench defaults. */
  config?: Record<string, unknown>
  /** The honest peer is on the victim's trust list (else a stranger with room to store). */
  trusted?: boolean
}

const BASE_CLASSES: AttackClass[] = [
  { name: 'proofs', attack: 'proofs', what: 'bogus-proof flood, 3 ids x 8 streams' },
  { name: 'unread', attack: 'unread', what: '3 proven ids x 64 streams x 16 gets, never read' },
  { name: 'partial', attack: 'partial', what: '3 ids x 64 store streams holding all but 1 byte of a 1 MiB frame' },
  { name: 'halfopen', attack: 'halfopen', what: '20 half-open TCP sockets a second from 127.0.0.2' },
  { name: 'eclipse', attack: 'eclipse', what: '1,000 forged signed ids over one gossip connection, then 50/s' },
  // the node's own store rates: the other classes' honest stranger is not paced (VICTIM_BASE)
  { name: 'sybilfill', attack: 'sybilfill', what: '48 fresh ids storing until refused', trusted: true, config: { capacity: '1GiB', newcomerAllowance: '32MiB', strangerStoreRate: '4MiB', strangersStoreRate: '16MiB' } }
]
/**
 * Where the honest peer is a stranger, it has room to store (a 4 GiB allowance) and is
 * not paced by the strangers' store rate (4 MiB/s by default): its put then measures
 * the node's throughput, not the rate, which only the sybil fill's attackers meet.
 */
const VICTIM_BASE = { capacity: '64GiB', newcomerAllowance: '4GiB', strangerStoreRate: '1GiB', strangersStoreRate: '1GiB' }
const CLASSES: AttackClass[] = BASE_CLASSES.flatMap((c) => [c, { ...c, name: `${c.name}-niced`, nice: true, what: `${c.what}, the attacker at nice 19` }])

const MIB_GET = Number(process.env.BENCH_MIB ?? 32)
const MIB_PUT = Number(process.env.BENCH_PUT_MIB ?? 16)
const HANDSHAKES = Number(process.env.BENCH_HANDSHAKES ?? 20)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const PROF = process.env.BENCH_PROF
const selectors = process.argv.slice(2)
// BENCH_NICED=0 runs only the attackers as they are, BENCH_NICED=1 only the niced ones
const niced = process.env.BENCH_NICED
const chosen = CLASSES.filter((c) => (selectors.length === 0 || selectors.some((s) => c.name.startsWith(s))) && (niced === undefined || (c.nice === true) === (niced === '1')))
if (chosen.length === 0) throw new Error(`no attack class matches ${selectors.join(' ')}; classes: ${CLASSES.map((c) => c.name).join(', ')}`)

function spawnAttacker (c: AttackClass, target: object): { child: ChildProcess, line: () => Promise<string> } {
  const script = fileURLToPath(new URL('./hostile-attacker.ts', import.meta.url))
  const argv = [process.execPath, script, c.attack, JSON.stringify(target)]
  const child = c.nice === true ? spawn('nice', ['-n', '19', ...argv], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const queue: string[] = []
  const waiters: Array<{ resolve: (l: string) => void, reject: (err: Error) => void }> = []
  let exited: Error | undefined
  lines.on('line', (l) => { const w = waiters.shift(); if (w !== undefined) w.resolve(l); else queue.push(l) })
  // an attacker that died says so instead of leaving the bench waiting for its line
  lines.on('close', () => { exited = new Error(`the ${c.name} attacker exited`); for (const w of waiters.splice(0)) w.reject(exited) })
  return {
    child,
    line: async () => {
      const queued = queue.shift()
      if (queued !== undefined) return queued
      if (exited !== undefined) throw exited
      return new Promise<string>((resolve, reject) => waiters.push({ resolve, reject }))
    }
  }
}

interface Row { c: AttackClass, calm: HonestFigures & { rss: number }, attacked: HonestFigures & { rss: number }, cores: { victim: number, attacker: number }, did: Record<string, number> }

async function runClass (c: AttackClass): Promise<Row> {
  const dir = await tempDir('quloud-hostile-')
  const profDir = PROF === undefined ? undefined : join(PROF, c.name)
  if (profDir !== undefined) await mkdir(profDir, { recursive: true })
  const victim = await startVictim(join(dir.path, 'victim'), { ...VICTIM_BASE, ...c.config }, profDir)
  const pid = victim.node.child.pid!
  let honest: HonestPeer | undefined
  let attacker: ReturnType<typeof spawnAttacker> | undefined
  try {
    honest = await HonestPeer.start(victim)
    if (c.trusted === true) await victim.trust(honest.host.peerId.toString())
    await honest.prestore(MIB_GET)
    await honest.measure(3, 4) // warm: the first figures of a process are its JIT's
    await resetPeakRss(pid)
    const before = await windowed(`${c.name} calm`, async () => honest!.measure(HANDSHAKES, MIB_PUT, ROUNDS))
    const calmRss = (await rssOf(pid)).peakMb
    attacker = spawnAttacker(c, { peerId: victim.peerId, addrs: victim.addrs, federation: victim.federation })
    await attacker.line()
    await new Promise((resolve) => setTimeout(resolve, 2000)) // let the attack build up
    await resetPeakRss(pid)
    const cpu = await Promise.all([cpuSecondsOf(pid), cpuSecondsOf(attacker.child.pid!)])
    const started = performance.now()
    const figures = await windowed(`${c.name} attacked`, async () => honest!.measure(HANDSHAKES, MIB_PUT, ROUNDS))
    const seconds = (performance.now() - started) / 1000
    const after = await Promise.all([cpuSecondsOf(pid), cpuSecondsOf(attacker.child.pid!)])
    const attacked = { ...figures, rss: (await rssOf(pid)).peakMb }
    attacker.child.kill('SIGTERM')
    const did = JSON.parse(await attacker.line()) as Record<string, number>
    // calm again once the attacker is gone: the machine is shared, and its load drifts
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const calm = { ...meanOf(before, await honest.measure(HANDSHAKES, MIB_PUT, ROUNDS)), rss: calmRss }
    return { c, calm, attacked, cores: { victim: (after[0] - cpu[0]) / seconds, attacker: (after[1] - cpu[1]) / seconds }, did }
  } finally {
    if (attacker !== undefined && attacker.child.exitCode === null) attacker.child.kill('SIGKILL')
    await honest?.stop()
    await victim.stop()
    await dir.cleanup()
  }
}

// with BENCH_PROF, when each phase ran (monotonic µs, the clock of V8's CPU profiles)
const windows: Array<{ name: string, startUs: number, endUs: number }> = []
async function windowed<T> (name: string, work: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint()
  try {
    return await work()
  } finally {
    windows.push({ name, startUs: Number(started / 1000n), endUs: Number(process.hrtime.bigint() / 1000n) })
  }
}

function meanOf (a: HonestFigures, b: HonestFigures): HonestFigures {
  const m = (x: number, y: number): number => Number.isNaN(x) ? y : Number.isNaN(y) ? x : (x + y) / 2
  return { handshakeMs: m(a.handshakeMs, b.handshakeMs), putMbps: m(a.putMbps, b.putMbps), getMbps: m(a.getMbps, b.getMbps), connectMs: m(a.connectMs, b.connectMs), connectFailures: a.connectFailures + b.connectFailures }
}

const ratio = (calm: number, attacked: number, higherIsBetter: boolean): string => `${(higherIsBetter ? attacked / calm : calm / attacked).toFixed(2)}x`
const rows: Row[] = []
for (const c of chosen) {
  const row = await runClass(c)
  rows.push(row)
  console.log(`${c.name}: ${c.what}; attacker: ${JSON.stringify(row.did)}`)
}
console.log(`\nhonest peer vs each attack on a quloud daemon, 127.0.0.1, ${HANDSHAKES} handshakes, ${MIB_PUT} MiB put and ${MIB_GET} MiB get (median of ${ROUNDS} each), calm (mean of before and after the attack) -> attacked (ratio, calm = 1); attacker, daemon and honest peer share this machine's ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)} at the end`)
console.log('| attack | handshake ms | put MB/s | get MB/s | new connection ms | daemon peak RSS MB | CPU cores daemon / attacker |')
console.log('|---|---:|---:|---:|---:|---:|---:|')
for (const { c, calm, attacked, cores } of rows) {
  console.log(`| ${c.name} | ${calm.handshakeMs.toFixed(0)} → ${attacked.handshakeMs.toFixed(0)} (${ratio(calm.handshakeMs, attacked.handshakeMs, false)}) ` +
    `| ${calm.putMbps.toFixed(0)} → ${attacked.putMbps.toFixed(0)} (${ratio(calm.putMbps, attacked.putMbps, true)}) ` +
    `| ${calm.getMbps.toFixed(0)} → ${attacked.getMbps.toFixed(0)} (${ratio(calm.getMbps, attacked.getMbps, true)}) ` +
    `| ${calm.connectMs.toFixed(0)} → ${attacked.connectMs.toFixed(0)} (${ratio(calm.connectMs, attacked.connectMs, false)})${attacked.connectFailures > 0 ? `, ${attacked.connectFailures} of 5 failed` : ''} ` +
    `| ${calm.rss.toFixed(0)} → ${attacked.rss.toFixed(0)} | ${cores.victim.toFixed(2)} / ${cores.attacker.toFixed(2)} |`)
}
if (PROF !== undefined) await writeFile(join(PROF, 'windows.json'), JSON.stringify({ mib: MIB_PUT + MIB_GET, windows }))
process.exit(0)
