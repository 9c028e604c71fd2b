// Repair against get, in one process over the in-memory federation (no network, so the
// figures are the owner's CPU: reading k shards, decoding, re-coding, sealing):
// a 4+2 file on 8 nodes, read back whole, then one holder lost and its shards rebuilt
// on another. Reports both in MB/s of the file's bytes and the ratio (issue 13's goal:
// repair of one lost node's shards at >= 0.5x get throughput, by the bytes repair moves).
// Also an audit round of the file by Merkle leaves against reading every sampled shard whole.
//   npm run bench -- repair            (BENCH_REPAIR_MIB=256 for a larger file)
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { RepairBudget } from '../src/app/owner/repair-budget.ts'
import { RepairService } from '../src/app/owner/repair-service.ts'
import { MemoryCache, MemoryFederation } from '../test/helpers/memory-federation.ts'
import { fakePeerId } from '../test/helpers/owner-fixtures.ts'

const MIB = Number(process.env.BENCH_REPAIR_MIB ?? 64)
const SCHEME = { data: 4, parity: 2 }

const federation = new MemoryFederation()
for (let i = 0; i < 8; i++) federation.addPeer(fakePeerId())
const master = randomBytes(32)
const deps = { master, federation, log: silentLoggerFactory('bench'), codec: new ReedSolomonCodec() }
const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
const owner = new OwnerService(deps, catalogue)
const clock = { now: 0 }
const settings = { repairAfterMs: 1000, auditSample: 2, budget: new RepairBudget(1e12), concurrency: 1 }
const repair = new RepairService(deps, catalogue, settings, () => clock.now)
const dir = await mkdtemp(join(tmpdir(), 'quloud-bench-repair-'))
try {
  const path = join(dir, 'file.bin')
  await writeFile(path, randomBytes(MIB * 2 ** 20))
  const [outcome] = await owner.put([path], { kind: 'erasure', scheme: SCHEME }, () => {})
  const seconds = async (work: () => Promise<unknown>): Promise<number> => {
    const start = performance.now()
    await work()
    return (performance.now() - start) / 1000
  }
  const getS = await seconds(async () => owner.get(outcome!.id, { cwd: dir, output: join(dir, 'back.bin') }, () => {}))
  await repair.check(undefined, { repair: false })
  const gets = federation.counts.gets
  const auditS = await seconds(async () => repair.check(undefined, { repair: false }))
  const auditGets = federation.counts.gets - gets
  federation.reachable.delete(outcome!.holders[0]!)
  await repair.check(undefined, { repair: false })
  clock.now += 2000
  let rebuilt = 0
  const repairS = await seconds(async () => { rebuilt = (await repair.check(undefined, { repair: true }))[0]!.repaired })
  const shardBytes = rebuilt * 2 ** 20
  const mb = (bytes: number, s: number): string => (bytes / 1e6 / s).toFixed(0)
  console.log(`file ${MIB} MiB, ${SCHEME.data}+${SCHEME.parity} over 8 in-memory nodes (owner CPU only)`)
  console.log(`get: ${mb(MIB * 2 ** 20, getS)} MB/s of file (${getS.toFixed(2)} s)`)
  console.log(`repair of one lost holder: ${rebuilt} shards (${(shardBytes / 2 ** 20).toFixed(0)} MiB) in ${repairS.toFixed(2)} s: ${mb(shardBytes, repairS)} MB/s of rebuilt shards, reading ${mb(shardBytes * SCHEME.data, repairS)} MB/s`)
  console.log(`repair / get: ${((shardBytes / repairS) / (MIB * 2 ** 20 / getS)).toFixed(2)}x by rebuilt bytes, ${((shardBytes * SCHEME.data / repairS) / (MIB * 2 ** 20 / getS)).toFixed(2)}x by bytes read (a rebuilt shard costs k read)`)
  console.log(`audit round (6 holders x ${settings.auditSample} pieces by Merkle leaves): ${(auditS * 1000).toFixed(0)} ms, ${auditGets} pieces read whole; audits by whole reads would move ${6 * settings.auditSample} MiB`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
