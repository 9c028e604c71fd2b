// Churn over simulated months: 30 storage nodes and one owner, every one a real daemon
// (src/assembly startNode: libp2p on 127.0.0.1, Groth16 proofs, audits, repair, leases)
// in this process. The owner puts files with the default scheme (`auto`: 6+6 on 30
// nodes); then a share of the storage nodes leaves for good each month, each replaced by
// a newcomer, while the owner's daemon repairs on timers scaled to the month (repair
// after one simulated day, audits twice a day, leases renewed six times a lease;
// liveness on real seconds; churn-federation.ts).
// Reports files lost (target 0), repair bytes per lost node and against what it held,
// time to full health after each loss, and the process's peak RSS; writes the figures as
// JSON to CHURN_JSON (default: churn-<time>.json in the OS temp dir).
// Every node shares this process's event loop and the machine's cores: the times are
// real seconds on that test bed, given in simulated days too.
//   npm run bench -- churn
//   CHURN_NODES=30 CHURN_MONTHS=3 CHURN_MONTH_S=120 CHURN_RATE=0.1 CHURN_FILES=4 CHURN_FILE_MIB=6 npm run bench -- churn
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { runChurn } from '../test/helpers/churn-simulation.ts'

const env = (name: string, fallback: number): number => process.env[name] === undefined ? fallback : Number(process.env[name])
const settings = {
  nodes: env('CHURN_NODES', 30),
  months: env('CHURN_MONTHS', 3),
  monthMs: env('CHURN_MONTH_S', 120) * 1000,
  churn: env('CHURN_RATE', 0.1),
  files: env('CHURN_FILES', 4),
  fileBytes: Math.round(env('CHURN_FILE_MIB', 6) * 2 ** 20),
  seed: env('CHURN_SEED', 1)
}
const started = new Date()
const dir = await mkdtemp(join(tmpdir(), 'quloud-bench-churn-'))
try {
  console.log(`churn: ${settings.nodes} storage nodes + 1 owner, ${settings.months} month(s) of ${settings.monthMs / 1000} s, ` +
    `${settings.churn * 100}% leaving per month, ${settings.files} files of ${settings.fileBytes / 2 ** 20} MiB; load average ${loadAverage()}`)
  const report = await runChurn({
    ...settings, dir, ceilingMs: 900_000, progress: (line) => console.log(`  ${line}`),
    // CHURN_OWNER_LOG=FILE keeps the owner daemon's debug log of the run
    ...(process.env.CHURN_OWNER_LOG === undefined ? {} : { ownerLog: process.env.CHURN_OWNER_LOG })
  })
  const day = settings.monthMs / 30 / 1000
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
  console.log('\n| node | left on day | held MiB | seen gone after s | whole again after s (days) |')
  console.log('|---|---|---|---|---|')
  for (const l of report.losses) {
    console.log(`| ${l.node} | ${l.day} | ${mib(l.heldBytes)} | ${l.detectedAfterS?.toFixed(1)} | ${l.fullHealthAfterS?.toFixed(1)} (${((l.fullHealthAfterS ?? 0) / day).toFixed(1)}) |`)
  }
  console.log('\n| figure | value |')
  console.log('|---|---|')
  const rows: Array<[string, string]> = [
    ['scheme (auto)', report.scheme],
    ['files lost (target 0)', `${report.filesLost} of ${report.files}`],
    ['fewest spare shards seen', String(report.lowestMargin)],
    ['nodes left / joined', `${report.losses.length} / ${report.joins}`],
    ['repair traffic', `${mib(report.repairBytes)} MiB, ${report.repairedShards} shard(s) rebuilt`],
    ['repair traffic per lost node', `${mib(report.repairBytesPerLoss)} MiB, ${report.repairToHeld.toFixed(2)}x the bytes it held`],
    ['time to full health, median / max', `${report.fullHealthS.median.toFixed(1)} / ${report.fullHealthS.max.toFixed(1)} s (${(report.fullHealthS.median / day).toFixed(1)} / ${(report.fullHealthS.max / day).toFixed(1)} simulated days)`],
    ['whole at the end', String(report.wholeAtEnd)],
    ['records trashed / collected by lease on the nodes left', `${report.leaseSweeps.trashed} / ${report.leaseSweeps.collected}`],
    ['peak RSS (all nodes, one process)', `${report.peakRssMb.toFixed(0)} MB`],
    ['elapsed', `${report.elapsedS} s, load average at the end ${loadAverage()}`]
  ]
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`)
  const out = process.env.CHURN_JSON ?? join(tmpdir(), `churn-${started.toISOString().replace(/[:.]/g, '-')}.json`)
  await writeFile(out, JSON.stringify({ startedAt: started.toISOString(), settings, report }, null, 2) + '\n')
  console.log(`\nfigures written to ${out}`)
  if (report.filesLost > 0) process.exitCode = 1
} finally {
  await rm(dir, { recursive: true, force: true })
}

function loadAverage (): string {
  return loadavg().map((l) => l.toFixed(1)).join(' ')
}
