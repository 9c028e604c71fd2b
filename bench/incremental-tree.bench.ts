// A re-put of a tree with 1 % of its files changed, and a restore that resumes over a
// tree already on disk, against the first put and a full restore of the same tree, in
// the same run: owner + 3 storage daemons, one process each. Goals (issue 12): the
// re-put takes <= 5 % of the first put's time; a resume with nothing left to fetch
// costs a small fraction of a full restore.
//   npm run bench -- incremental     (BENCH_FILES=200, BENCH_FILE_KB=20, BENCH_REPUTS=5; BENCH_GET=0 skips the restores)
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { startDaemonFederation, timed } from './daemon-federation.ts'

const files = Number(process.env.BENCH_FILES ?? 200)
const fileBytes = Number(process.env.BENCH_FILE_KB ?? 20) * 1024
const changed = Math.max(1, Math.round(files / 100))
const rounds = Math.max(1, Number(process.env.BENCH_REPUTS ?? 5))
const dir = await tempDir('quloud-bench-incremental-')
const tree = join(dir.path, 'tree')

// with BENCH_PROF, when each operation ran (monotonic µs, the clock of V8's CPU
// profiles), so bench/profile-summary.ts can split each daemon's profile by operation
const windows: Array<{ name: string, startUs: number, endUs: number }> = []
const marked = async (name: string, work: () => Promise<unknown>): Promise<number> => {
  const startUs = Number(process.hrtime.bigint() / 1000n)
  const seconds = await timed(work)
  windows.push({ name, startUs, endUs: Number(process.hrtime.bigint() / 1000n) })
  return seconds
}
const federation = await startDaemonFederation(join(dir.path, 'nodes'), 3)
try {
  for (let i = 0; i < files; i++) {
    await mkdir(join(tree, `d${i % 10}`), { recursive: true })
    await writeFile(join(tree, `d${i % 10}`, `f${i}.bin`), randomBytes(fileBytes))
  }
  const first = await marked('first put', () => federation.quloud(['put', tree, '--json']))
  // each round changes another 1 % of the files and puts the tree again: one re-put is
  // a ~0.2 s command on a shared machine, so the median of the rounds is reported beside the first
  let unchanged = 0
  const reputs: number[] = []
  for (let round = 0; round < rounds; round++) {
    for (let i = round * changed; i < (round + 1) * changed; i++) await writeFile(join(tree, `d${i % 10}`, `f${i % files}.bin`), randomBytes(fileBytes))
    reputs.push(await marked(round === 0 ? 're-put' : `re-put ${round + 1}`, async () => { unchanged = JSON.parse(await federation.quloud(['put', tree, '--json']))[0].unchanged }))
  }
  const again = reputs[0]!
  const median = [...reputs].sort((a, b) => a - b)[Math.floor(reputs.length / 2)]!
  // what any command costs (a process, its modules, one call): the floor under a re-put;
  // and ls, which the catalogue's versions must not slow
  const floor = await timed(() => federation.quloud(['status', '--json']))
  const listed = await timed(() => federation.quloud(['ls']))
  const out = join(dir.path, 'restored')
  const restores = process.env.BENCH_GET !== '0'
  const full = restores ? await timed(() => federation.quloud(['get', 'tree', '-o', out])) : NaN
  const resume = restores ? await timed(() => federation.quloud(['get', 'tree', '-o', out, '--skip-existing'])) : NaN
  console.log(`${files} files of ${fileBytes / 1024} KiB, 3 holders, ${changed} changed before the re-put (${unchanged} kept unchanged)`)
  console.log('| operation | seconds | files/s | ratio |')
  console.log('|---|---|---|---|')
  console.log(`| first put | ${first.toFixed(1)} | ${(files / first).toFixed(1)} | 1 |`)
  console.log(`| re-put, ${changed} changed | ${again.toFixed(2)} | ${(files / again).toFixed(1)} | ${(again / first).toFixed(3)}x of the first put (goal <= 0.05) |`)
  console.log(`| median of ${rounds} re-puts, ${changed} changed each (${reputs.map((r) => r.toFixed(2)).join(', ')} s) | ${median.toFixed(2)} | ${(files / median).toFixed(1)} | ${(median / first).toFixed(3)}x of the first put |`)
  console.log(`| status (any command's floor) | ${floor.toFixed(2)} | | ${(floor / first).toFixed(3)}x of the first put |`)
  console.log(`| ls, ${rounds + 1} versions kept | ${listed.toFixed(2)} | | ${(listed / floor).toFixed(2)}x of status |`)
  console.log(`| full get | ${full.toFixed(1)} | ${(files / full).toFixed(1)} | 1 |`)
  console.log(`| get --skip-existing over it | ${resume.toFixed(1)} | ${(files / resume).toFixed(1)} | ${(resume / full).toFixed(3)}x of the full get |`)
} finally {
  await federation.stop()
  if (process.env.BENCH_PROF !== undefined) await writeFile(join(process.env.BENCH_PROF, 'windows.json'), JSON.stringify({ mib: files * fileBytes / 1024 / 1024, windows }))
  await dir.cleanup()
}
