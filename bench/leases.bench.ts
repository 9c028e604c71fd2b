// Lease renewal and collection against real storage nodes (in process, over libp2p on
// 127.0.0.1, LevelDB records on disk): what issue 13's "renewing 10,000 files on 10
// holders costs minutes, not hours" comes to. Reports, in the same run:
// - proof: seconds to open one delete session (the owner's Groth16 proof and the node's check);
// - renew: records renewed per second in requests of 1,000, against gets of the same records;
// - sweep: records collected per second by the storage node's sweep;
// - the round: FILES one-chunk files, each its own C and D (what every unbatched file
//   has), stored with the owner's lease commitment L on each of HOLDERS holders.
//   after: one session under L per holder renews all of them (measured, whole);
//   before: one session per file and holder under the file's D (measured on SAMPLE
//   files, extrapolated linearly to FILES: proofs dominate, and each costs the same);
//   both with 4 holders at a time and each holder's requests in turn, as the owner's
//   daemon renews (src/app/owner/lease-renewal.ts).
//   npm run bench -- leases   (BENCH_LEASES_RECORDS, BENCH_LEASES_FILES, BENCH_LEASES_HOLDERS, BENCH_LEASES_SAMPLE)
import { randomBytes } from 'node:crypto'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { MAX_RENEW_CHUNK_IDS } from '../src/adapters/libp2p/wire/constants.ts'
import { inParallel } from '../src/app/owner/in-parallel.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import type { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { startProvingRig } from '../test/helpers/proving-rig.ts'
import type { TestStorageNode } from '../test/helpers/storage-node.ts'

const RECORDS = Number(process.env.BENCH_LEASES_RECORDS ?? 3000)
const FILES = Number(process.env.BENCH_LEASES_FILES ?? 10_000)
const HOLDERS = Number(process.env.BENCH_LEASES_HOLDERS ?? 10)
const SAMPLE = Number(process.env.BENCH_LEASES_SAMPLE ?? 20)
const HOLDERS_AT_ONCE = 4
const PROOFS = 5
const LEASE_MS = 1000

const rig = await startProvingRig({
  nodes: HOLDERS, prefix: 'quloud-bench-leases-', capacity: 1e12, peerQuota: 1e12, proofAdmission: { firstCooldownMs: 0 },
  leases: { durationMs: LEASE_MS, trashMs: 0, sweepEveryMs: 24 * 3_600_000 }
})
const seconds = async (work: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await work()
  return (performance.now() - start) / 1000
}
const decimal = (secret: bigint): string => commitmentToDecimal(poseidonCommitment(secret))

/** Stores one 64-byte chunk per item on `node`, each under its own commitments; its id. */
async function storeOn (node: TestStorageNode, items: ReadonlyArray<{ data: Uint8Array, C: string, D: string, L?: string }>): Promise<void> {
  const store = await StoreClient.open(rig.owner, node.host.peerId)
  await inParallel([...items], 256, async ({ data, C, D, L }) => store.store({ chunkId: chunkIdOf(data), data, commitment: C, deleteCommitment: D, ...(L === undefined ? {} : { leaseCommitment: L }) }))
  await store.close()
}

/** Renews `ids` in requests of MAX_RENEW_CHUNK_IDS, one after the other, in `session`; the ids missing. */
async function renewAll (session: SessionClient, ids: readonly string[]): Promise<number> {
  let missing = 0
  for (let i = 0; i < ids.length; i += MAX_RENEW_CHUNK_IDS) missing += (await session.renew(ids.slice(i, i + MAX_RENEW_CHUNK_IDS))).missing.length
  return missing
}

try {
  // one holder: proof, renewal, get and sweep rates
  const node = rig.nodes[0]!
  const s = 11n
  const d = 12n
  const one = Array.from({ length: RECORDS }, () => ({ data: randomBytes(64), C: decimal(s), D: decimal(d) }))
  const ids = one.map(({ data }) => chunkIdOf(data))
  await storeOn(node, one)

  // proofs: fresh commitments, so each opens a new session (a proof) on the same connection
  await (await rig.open('delete', 1000n)).close()
  let proof = 0
  for (let i = 0; i < PROOFS; i++) proof += await seconds(async () => (await rig.open('delete', 2000n + BigInt(i))).close())
  proof /= PROOFS

  const deleter = await rig.open('delete', d)
  const renew = await seconds(async () => renewAll(deleter, ids))
  await deleter.close()
  const reader = await rig.open('read', s)
  const get = await seconds(async () => Promise.all(ids.map(async (id) => reader.get(id))))
  await reader.close()

  await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 50))
  await node.storage.sweepLeases(RECORDS) // into the trash (0 ms)
  await new Promise((resolve) => setTimeout(resolve, 10))
  let collected = 0
  const sweep = await seconds(async () => {
    for (let more = true; more;) {
      const round = await node.storage.sweepLeases(1000)
      collected += round.collected
      more = round.more
    }
  })
  const renewRate = RECORDS / renew
  console.log(`records: ${RECORDS} of 64 bytes under one commitment, one holder`)
  console.log(`proof (open a delete session):  ${(proof * 1000).toFixed(0)} ms`)
  console.log(`renew:   ${renewRate.toFixed(0)} records/s in requests of ${MAX_RENEW_CHUNK_IDS}`)
  console.log(`get:     ${(RECORDS / get).toFixed(0)} records/s, pipelined in one session`)
  console.log(`renew / get of the same records: ${(get / renew).toFixed(2)}x`)
  console.log(`sweep:   ${(collected / sweep).toFixed(0)} records/s collected (${collected} records with their bytes)`)

  // the round: FILES files of their own C and D on every holder, stored with L
  const l = 13n
  const L = decimal(l)
  const files = Array.from({ length: FILES }, (_, i) => {
    const fd = 1_000_000n + 2n * BigInt(i)
    return { data: randomBytes(64), C: decimal(fd + 1n), D: decimal(fd), d: fd, L }
  })
  const fileIds = files.map(({ data }) => chunkIdOf(data))
  const stored = await seconds(async () => inParallel(rig.nodes, HOLDERS_AT_ONCE, async (holder) => storeOn(holder, files)))
  console.log(`stored ${FILES} files × ${HOLDERS} holders (${FILES * HOLDERS} records, each file its own C and D, all with L) in ${stored.toFixed(0)} s`)

  let missingAfter = 0
  const after = await seconds(async () => inParallel(rig.nodes, HOLDERS_AT_ONCE, async (holder) => {
    const session = await rig.open('delete', l, holder)
    missingAfter += await renewAll(session, fileIds)
    await session.close()
  }))
  if (missingAfter !== 0) throw new Error(`${missingAfter} records were not renewed under L`)

  const sample = files.slice(0, Math.min(SAMPLE, FILES))
  const before = await seconds(async () => inParallel(rig.nodes, HOLDERS_AT_ONCE, async (holder) => {
    for (const file of sample) {
      const session = await rig.open('delete', file.d, holder)
      if (await renewAll(session, [chunkIdOf(file.data)]) !== 0) throw new Error('a record was not renewed under its D')
      await session.close()
    }
  }))
  const beforeAll = before * FILES / sample.length
  console.log(`after  (one session under L per holder, ${HOLDERS} proofs):           ${after.toFixed(1)} s measured for all ${FILES * HOLDERS} records`)
  console.log(`before (one session per file and holder, ${FILES * HOLDERS} proofs): ${before.toFixed(1)} s measured for ${sample.length} files × ${HOLDERS} holders, ~${(beforeAll / 60).toFixed(0)} min extrapolated to ${FILES} files`)
  console.log(`before / after, the same round: ~${(beforeAll / after).toFixed(0)}x; the migration round (once, records stored without L) costs what "before" does`)
  if (FILES < 10_000) {
    // after grows with the records renewed (its HOLDERS proofs do not), so scaling it whole overstates it
    const scale = 10_000 / FILES
    console.log(`10,000 files on ${HOLDERS} holders, scaled from this run: after ≤ ~${(after * scale / 60).toFixed(1)} min, before ~${(beforeAll * scale / 60).toFixed(0)} min`)
  }
} finally {
  await rig.stop()
}
