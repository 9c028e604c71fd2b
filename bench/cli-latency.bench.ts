// Wall time of one CLI call as a user (or a container health check) pays it: a whole
// `bin/quloud` process, with `quloud status` asking a running daemon. Median of
// BENCH_CALLS (10). Goal: <= 150 ms each. `node -e 0` is the floor for a Node process.
// Also one Prometheus scrape of the running daemon's GET /metrics (a fetch, no process).
//   npm run bench -- cli
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { NodeProcess, QULOUD, runQuloud } from '../test/helpers/node-process.ts'
import { tempDir } from '../test/helpers/temp-dir.ts'

const calls = Number(process.env.BENCH_CALLS ?? 10)
const dir = await tempDir('quloud-bench-cli-')

/** Median wall milliseconds of `calls` runs of `command args`, each checked to exit 0. */
function medianMs (command: string, args: string[]): { median: number, max: number } {
  const times: number[] = []
  for (let i = 0; i < calls; i++) {
    const started = process.hrtime.bigint()
    const run = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
    if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${run.status}: ${run.stderr}`)
  }
  times.sort((a, b) => a - b)
  return { median: (times[(calls - 1) >> 1]! + times[calls >> 1]!) / 2, max: times[calls - 1]! }
}

/** Median wall milliseconds of `calls` scrapes of the daemon's /metrics with the metrics key. */
async function scrapeMs (dataDir: string): Promise<{ median: number, max: number }> {
  const { url } = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8'))
  const key = (await readFile(join(dataDir, 'metrics.token'), 'utf8')).trim()
  const times: number[] = []
  for (let i = 0; i < calls; i++) {
    const started = process.hrtime.bigint()
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${key}` } })
    await res.text()
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
    if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`)
  }
  times.sort((a, b) => a - b)
  return { median: (times[(calls - 1) >> 1]! + times[calls >> 1]!) / 2, max: times[calls - 1]! }
}

let daemon: NodeProcess | undefined
try {
  const dataDir = join(dir.path, 'node')
  const init = await runQuloud(['init', '--json', '--data-dir', dataDir])
  if (init.code !== 0) throw new Error(init.stderr)
  daemon = await NodeProcess.start({ dataDir, args: ['--no-mdns'] })
  const rows: Array<[string, { median: number, max: number }]> = [
    ['node -e 0 (the floor)', medianMs(process.execPath, ['-e', '0'])],
    ['quloud --version', medianMs(QULOUD, ['--version'])],
    ['quloud status (running daemon)', medianMs(QULOUD, ['status', '--data-dir', dataDir])],
    ['quloud config get capacity (no daemon call)', medianMs(QULOUD, ['config', 'get', 'capacity', '--data-dir', dataDir])],
    ['GET /metrics (one scrape, fetch from this process)', await scrapeMs(dataDir)]
  ]
  console.log(`median of ${calls} calls, one process each`)
  console.log('| call | median ms | slowest ms |')
  console.log('|---|---:|---:|')
  for (const [name, t] of rows) console.log(`| ${name} | ${t.median.toFixed(0)} | ${t.max.toFixed(0)} |`)
} finally {
  await daemon?.stop()
  await dir.cleanup()
}
