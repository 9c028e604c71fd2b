// Memory of the owner's daemon: resident set once started and idle, and its peak
// (VmHWM) while putting one big file to a storage node. Goals: <= 150 MB idle,
// < 200 MB peak for 1 GiB, whatever the file size.
//   npm run bench -- rss          (BENCH_RSS_MIB=1024)
import { randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { rssOf, secondsSince, startDaemonFederation } from './daemon-federation.ts'

const MIB = 1024 * 1024
const fileMib = Number(process.env.BENCH_RSS_MIB ?? 1024)
const dir = await tempDir('quloud-bench-rss-')
try {
  const file = join(dir.path, 'big.bin')
  const handle = await open(file, 'w')
  for (let i = 0; i < fileMib; i++) await handle.write(randomBytes(MIB))
  await handle.close()
  const federation = await startDaemonFederation(join(dir.path, 'nodes'), 1)
  try {
    // settle: start-up work (proof artefacts, identify, first pings) is over
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const pid = federation.owner.child.pid!
    const idle = await rssOf(pid)
    let sampledPeak = idle.rssMb
    const sampler = setInterval(() => { void rssOf(pid).then((r) => { sampledPeak = Math.max(sampledPeak, r.rssMb) }, () => {}) }, 100)
    const started = process.hrtime.bigint()
    await federation.quloud(['put', file, '--replicas', '1', '--json'])
    const seconds = secondsSince(started)
    clearInterval(sampler)
    const after = await rssOf(pid)
    const storage = await rssOf(federation.storage[0]!.child.pid!)
    console.log(`owner daemon putting a ${fileMib} MiB file to one storage daemon (${(fileMib * MIB / 1e6 / seconds).toFixed(0)} MB/s)`)
    console.log('| owner daemon | MB |')
    console.log('|---|---:|')
    console.log(`| resident, idle after start | ${idle.rssMb.toFixed(0)} |`)
    console.log(`| peak while putting (sampled every 100 ms) | ${sampledPeak.toFixed(0)} |`)
    console.log(`| high-water mark since start (VmHWM) | ${after.peakMb.toFixed(0)} |`)
    console.log(`storage daemon: ${storage.rssMb.toFixed(0)} MB resident after, ${storage.peakMb.toFixed(0)} MB peak`)
  } finally {
    await federation.stop()
  }
} finally {
  await dir.cleanup()
}
