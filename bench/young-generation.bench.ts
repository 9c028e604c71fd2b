// The daemon's young-generation size (V8's --max-semi-space-size) against CPU per MiB
// and resident memory: a put and a get of one file between two `quloud start` daemons
// (owner + one storage node), a fresh pair per setting, the settings interleaved in
// rounds so that a busy shared machine slows them alike. Garbage collection is the
// largest single cost of a transfer (docs/performance.md): every chunk is copied
// several times, and a small young generation scavenges it again and again.
//   npm run bench -- young-generation   (BENCH_MIB=64, BENCH_ROUNDS=3, BENCH_SEMI=default,16,32,64)
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { cpuSecondsOf, rssOf, secondsSince, startDaemonFederation } from './daemon-federation.ts'
import { median, writeRandomFile } from './raw-stream-transfer.ts'

const fileMib = Number(process.env.BENCH_MIB ?? 64)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const settings = (process.env.BENCH_SEMI ?? 'default,16,32,64').split(',')
const dir = await tempDir('quloud-bench-semi-')

interface Sample { putMbS: number, getMbS: number, putCpu: number, getCpu: number, ownerPeakMb: number, storagePeakMb: number }
const samples = new Map<string, Sample[]>(settings.map((s) => [s, []]))

/** CPU ms per MiB both daemons spent on `work`, and its MB/s. */
async function measured (pids: number[], work: () => Promise<unknown>): Promise<{ cpu: number, mbS: number }> {
  const before = await Promise.all(pids.map(cpuSecondsOf))
  const started = process.hrtime.bigint()
  await work()
  const seconds = secondsSince(started)
  const after = await Promise.all(pids.map(cpuSecondsOf))
  const cpu = after.reduce((sum, a, i) => sum + a - before[i]!, 0) * 1000 / fileMib
  return { cpu, mbS: fileMib * 1024 * 1024 / 1e6 / seconds }
}

try {
  const file = join(dir.path, 'big.bin')
  await writeRandomFile(file, fileMib)
  for (let round = 0; round < rounds; round++) {
    for (const setting of settings) {
      const options = setting === 'default' ? [] : [`--max-semi-space-size=${setting}`]
      const federation = await startDaemonFederation(join(dir.path, `r${round}-${setting}`), 1, options)
      try {
        const pids = [federation.owner.child.pid!, federation.storage[0]!.child.pid!]
        let id = ''
        const put = await measured(pids, async () => { id = JSON.parse(await federation.quloud(['put', file, '--replicas', '1', '--json']))[0].id })
        const restored = join(dir.path, 'restored.bin')
        const get = await measured(pids, () => federation.quloud(['get', id, '-o', restored]))
        await rm(restored)
        const [owner, storage] = await Promise.all(pids.map(rssOf))
        samples.get(setting)!.push({ putMbS: put.mbS, getMbS: get.mbS, putCpu: put.cpu, getCpu: get.cpu, ownerPeakMb: owner!.peakMb, storagePeakMb: storage!.peakMb })
        console.error(`round ${round + 1}, semi-space ${setting}: put ${put.mbS.toFixed(0)} MB/s ${put.cpu.toFixed(1)} ms/MiB, get ${get.mbS.toFixed(0)} MB/s ${get.cpu.toFixed(1)} ms/MiB, peak RSS ${owner!.peakMb.toFixed(0)} / ${storage!.peakMb.toFixed(0)} MB`)
      } finally {
        await federation.stop()
      }
    }
  }
  const base = samples.get(settings[0]!)!
  const m = (s: Sample[], f: (x: Sample) => number): number => median(s.map(f))
  console.log(`${fileMib} MiB, put --replicas 1 then get, owner + 1 storage daemon, ${rounds} interleaved rounds, medians; ratios against "${settings[0]}"`)
  console.log('| max semi-space (MiB) | put CPU ms/MiB (both daemons) | get CPU ms/MiB | put MB/s | get MB/s | owner peak RSS MB | storage peak RSS MB |')
  console.log('|---|---:|---:|---:|---:|---:|---:|')
  for (const [setting, s] of samples) {
    const vs = (f: (x: Sample) => number): string => `${m(s, f).toFixed(1)} (${(m(s, f) / m(base, f)).toFixed(2)}x)`
    console.log(`| ${setting} | ${vs((x) => x.putCpu)} | ${vs((x) => x.getCpu)} | ${vs((x) => x.putMbS)} | ${vs((x) => x.getMbS)} | ${m(s, (x) => x.ownerPeakMb).toFixed(0)} | ${m(s, (x) => x.storagePeakMb).toFixed(0)} |`)
  }
} finally {
  await dir.cleanup()
}
