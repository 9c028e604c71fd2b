// A NAS's tree of small files (issue 12): put, get and rm of many 1–16 KiB files and a
// few large ones over real daemons (an owner and 3 storage nodes, one process each),
// with files/s, the proofs the storage nodes verified per operation, and each operation
// as a ratio of a raw libp2p stream (Noise + Yamux) copying the same bytes in the same run.
//   npm run bench -- tree      (TREE_FILES=1000 small files, TREE_BIG=2 files of TREE_BIG_MIB=4 MiB)
import { randomBytes, randomInt } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { startDaemonFederation, timed } from './daemon-federation.ts'
import { rawDownload, rawUpload, startRawPeer, stopChildren, writeRandomFile } from './raw-stream-transfer.ts'
import type { ChildProcess } from 'node:child_process'

const MIB = 1024 * 1024
const files = Number(process.env.TREE_FILES ?? 1000)
const big = Number(process.env.TREE_BIG ?? 2)
const bigMib = Number(process.env.TREE_BIG_MIB ?? 4)
const dir = await tempDir('quloud-bench-tree-')
const tree = join(dir.path, 'tree')

/** Proofs every storage node verified so far, from their /metrics. */
async function proofsVerified (dataDirs: string[]): Promise<number> {
  let total = 0
  for (const dataDir of dataDirs) {
    const api = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8'))
    const key = (await readFile(join(dataDir, 'metrics.token'), 'utf8')).trim()
    const text = await (await fetch(api.url + '/metrics', { headers: { authorization: `Bearer ${key}` } })).text()
    const line = text.split('\n').find((l) => l.startsWith('quloud_proofs_total{outcome="verified"'))
    total += Number(line?.split(' ').at(-1) ?? 0)
  }
  return total
}

let bytes = 0
for (let i = 0; i < files; i++) {
  const sub = join(tree, `album${i % 20}`)
  await mkdir(sub, { recursive: true })
  const size = randomInt(1024, 16 * 1024 + 1)
  bytes += size
  await writeFile(join(sub, `IMG_${i}.jpg`), randomBytes(size))
}
for (let i = 0; i < big; i++) {
  await writeRandomFile(join(tree, `video${i}.mp4`), bigMib)
  bytes += bigMib * MIB
}
const all = files + big

const children: ChildProcess[] = []
const federation = await startDaemonFederation(join(dir.path, 'nodes'), 3)
try {
  const storage = federation.storage.map((n) => n.dataDir)
  const raw = await startRawPeer(children)
  const rawFile = join(dir.path, 'raw.bin')
  await writeRandomFile(rawFile, Math.ceil(bytes / MIB))
  // a put sends every byte to 3 holders; the raw copy sends them 3 times over one stream
  const rawUp = await timed(async () => { for (let i = 0; i < 3; i++) await rawUpload(raw.host, raw.peerId, rawFile, bytes) })
  const rawDown = await timed(() => rawDownload(raw.host, raw.peerId, bytes))

  const measured: Array<{ op: string, seconds: number, proofs: number, raw: number }> = []
  const measure = async (op: string, rawSeconds: number, args: string[]): Promise<void> => {
    const before = await proofsVerified(storage)
    const seconds = await timed(() => federation.quloud(args))
    measured.push({ op, seconds, proofs: await proofsVerified(storage) - before, raw: rawSeconds })
  }
  await measure('put', rawUp, ['put', tree, '--replicas', '3', '--json'])
  await measure('get', rawDown, ['get', 'tree', '-o', join(dir.path, 'restored')])
  await measure('rm', NaN, ['rm', 'tree', '--yes'])

  console.log(`${files} files of 1–16 KiB and ${big} of ${bigMib} MiB (${(bytes / MIB).toFixed(1)} MiB), 3 copies on 3 storage daemons; raw stream: ${(3 * bytes / MIB / rawUp).toFixed(0)} MB/s up, ${(bytes / MIB / rawDown).toFixed(0)} MB/s down`)
  console.log('| operation | seconds | files/s | proofs verified | proofs per file | time vs a raw stream of the same bytes |')
  console.log('|---|---|---|---|---|---|')
  for (const m of measured) {
    console.log(`| ${m.op} | ${m.seconds.toFixed(1)} | ${(all / m.seconds).toFixed(1)} | ${m.proofs} | ${(m.proofs / all).toFixed(2)} | ${Number.isNaN(m.raw) ? 'n/a (no bytes move)' : `${(m.seconds / m.raw).toFixed(0)}x`} |`)
  }
  await raw.host.stop()
} finally {
  await stopChildren(children)
  await federation.stop()
  await dir.cleanup()
}
