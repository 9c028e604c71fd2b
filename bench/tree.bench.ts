// Issue 12's benchmark: put and get of a tree of many small files and of one file of the
// same total size, in the same run, over real daemons (an owner and 3 storage nodes, one
// process each, 3 copies). Reports the small files' byte rate as a ratio of the large
// file's (goal >= 1/5 for put and get), files/s, the proofs the storage nodes verified,
// the streams they were asked to open (each a protocol dial), and the CPU seconds each
// side spent, per operation; then rm of the tree.
//   npm run bench -- tree      (TREE_FILES=2000 files of TREE_FILE_KB=20 KiB: the sizes)
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { cpuSecondsOf, startDaemonFederation, timed } from './daemon-federation.ts'

const MIB = 1024 * 1024
const files = Number(process.env.TREE_FILES ?? 2000)
const fileBytes = Number(process.env.TREE_FILE_KB ?? 20) * 1024
const bytes = files * fileBytes
const dir = await tempDir('quloud-bench-tree-')
const tree = join(dir.path, 'tree')
const large = join(dir.path, 'large.bin')

/** The counters of every storage node's /metrics this benchmark reads, summed over the nodes. */
async function countersOf (dataDirs: string[]): Promise<{ proofs: number, streams: number }> {
  const sum = { proofs: 0, streams: 0 }
  for (const dataDir of dataDirs) {
    const api = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8'))
    const key = (await readFile(join(dataDir, 'metrics.token'), 'utf8')).trim()
    const text = await (await fetch(api.url + '/metrics', { headers: { authorization: `Bearer ${key}` } })).text()
    for (const line of text.split('\n')) {
      const value = Number(line.split(' ').at(-1))
      if (line.startsWith('quloud_proofs_total{outcome="verified"')) sum.proofs += value
      if (line.startsWith('quloud_requests_total{')) sum.streams += value
    }
  }
  return sum
}

for (let i = 0; i < files; i++) {
  const sub = join(tree, `album${i % 20}`)
  await mkdir(sub, { recursive: true })
  await writeFile(join(sub, `IMG_${i}.jpg`), randomBytes(fileBytes))
}
await writeFile(large, randomBytes(bytes))

// with BENCH_PROF, when each operation ran (monotonic µs, the clock of V8's CPU
// profiles), so bench/profile-summary.ts can split each daemon's profile by operation
const windows: Array<{ name: string, startUs: number, endUs: number }> = []
const federation = await startDaemonFederation(join(dir.path, 'nodes'), 3)
try {
  const storage = federation.storage.map((n) => n.dataDir)
  const pids = { owner: federation.owner.child.pid!, holders: federation.storage.map((n) => n.child.pid!) }
  const cpu = async (): Promise<{ owner: number, holders: number }> => ({
    owner: await cpuSecondsOf(pids.owner),
    holders: (await Promise.all(pids.holders.map(cpuSecondsOf))).reduce((a, b) => a + b, 0)
  })
  interface Measured { op: string, files: number, seconds: number, proofs: number, streams: number, ownerCpu: number, holderCpu: number }
  const measured: Measured[] = []
  const measure = async (op: string, count: number, args: string[]): Promise<Measured> => {
    const [before, cpuBefore] = [await countersOf(storage), await cpu()]
    const startUs = Number(process.hrtime.bigint() / 1000n)
    const seconds = await timed(() => federation.quloud(args))
    windows.push({ name: op, startUs, endUs: Number(process.hrtime.bigint() / 1000n) })
    const [after, cpuAfter] = [await countersOf(storage), await cpu()]
    const m = { op, files: count, seconds, proofs: after.proofs - before.proofs, streams: after.streams - before.streams, ownerCpu: cpuAfter.owner - cpuBefore.owner, holderCpu: cpuAfter.holders - cpuBefore.holders }
    measured.push(m)
    return m
  }
  const smallPut = await measure(`put ${files} small files`, files, ['put', tree, '--replicas', '3', '--json'])
  const largePut = await measure('put one large file', 1, ['put', large, '--replicas', '3', '--json'])
  const smallGet = await measure(`get ${files} small files`, files, ['get', 'tree', '-o', join(dir.path, 'restored')])
  const largeGet = await measure('get one large file', 1, ['get', 'large.bin', '-o', join(dir.path, 'large-restored.bin')])
  await measure(`rm ${files} small files`, files, ['rm', 'tree', '--yes'])

  const mbps = (seconds: number): string => (bytes / MIB / seconds).toFixed(1)
  console.log(`${files} files of ${fileBytes / 1024} KiB against one file of the same ${(bytes / MIB).toFixed(1)} MiB, 3 copies on 3 storage daemons`)
  console.log('| operation | seconds | MB/s of file | files/s | proofs verified | streams opened at the holders | owner CPU s | holders\' CPU s (sum) |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const m of measured) {
    console.log(`| ${m.op} | ${m.seconds.toFixed(1)} | ${mbps(m.seconds)} | ${(m.files / m.seconds).toFixed(1)} | ${m.proofs} | ${m.streams} | ${m.ownerCpu.toFixed(1)} | ${m.holderCpu.toFixed(1)} |`)
  }
  console.log(`small-file byte rate / large file's: put ${(largePut.seconds / smallPut.seconds).toFixed(2)} (goal >= 0.20), get ${(largeGet.seconds / smallGet.seconds).toFixed(2)} (goal >= 0.20)`)
} finally {
  await federation.stop()
  if (process.env.BENCH_PROF !== undefined) await writeFile(join(process.env.BENCH_PROF, 'windows.json'), JSON.stringify({ mib: bytes / MIB, windows }))
  await dir.cleanup()
}
