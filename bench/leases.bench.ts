// Lease renewal and collection against a real storage node (in process, over libp2p on
// 127.0.0.1, LevelDB records on disk): what issue 13's "renewing 10,000 files on 10
// holders costs minutes, not hours" comes to. Per holder, the owner pays one delete
// proof per delete commitment and then one renew request per 1,000 chunks; the node one
// LevelDB write per record (group-committed). Reports, in the same run:
// - proof: seconds to open one delete session (the owner's Groth16 proof and the node's check);
// - renew: records renewed per second in requests of 1,000, against gets of the same records;
// - sweep: records collected per second by the storage node's sweep;
// and the two extremes of 10,000 files on 10 holders: every file its own commitment
// (one proof per file and holder) and the files batched (one proof per batch and holder).
//   npm run bench -- leases            (BENCH_LEASES_RECORDS=10000 for more records)
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { startBareHost } from '../src/assembly/host.ts'
import { startStandaloneStorageNode } from '../src/assembly/standalone-storage-node.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { MAX_RENEW_CHUNK_IDS } from '../src/adapters/libp2p/wire/constants.ts'
import { tempDir } from '../test/helpers/temp-dir.ts'

const RECORDS = Number(process.env.BENCH_LEASES_RECORDS ?? 3000)
const PROOFS = 5
const LEASE_MS = 1000

const dir = await tempDir('quloud-bench-leases-')
const artefacts = await loadProofArtefacts()
const prover = await SnarkjsProver.create({ artefacts })
const verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
const node = await startStandaloneStorageNode({
  chunksDir: join(dir.path, 'chunks'), metadataDir: join(dir.path, 'metadata'), atRestKey: randomBytes(32), capacity: 1e12, peerQuota: 1e12,
  loggers: silentLoggerFactory, verifier, proofAdmission: { firstCooldownMs: 0 },
  leases: { durationMs: LEASE_MS, trashMs: 0, sweepEveryMs: 24 * 3_600_000 }
})
const owner = await startBareHost()
try {
  await owner.peerStore.merge(node.host.peerId, { multiaddrs: node.host.getMultiaddrs() })
  const s = 11n
  const d = 12n
  const C = commitmentToDecimal(poseidonCommitment(s))
  const D = commitmentToDecimal(poseidonCommitment(d))
  const ids: string[] = []
  const store = await StoreClient.open(owner, node.host.peerId)
  await Promise.all(Array.from({ length: RECORDS }, async () => {
    const data = randomBytes(64)
    ids.push(chunkIdOf(data))
    await store.store({ chunkId: chunkIdOf(data), data, commitment: C, deleteCommitment: D })
  }))
  await store.close()
  const open = async (action: 'read' | 'delete', secret: bigint): Promise<SessionClient> =>
    SessionClient.open({ host: owner, peer: node.host.peerId, action, secret, commitment: poseidonCommitment(secret), prover })
  const seconds = async (work: () => Promise<unknown>): Promise<number> => {
    const start = performance.now()
    await work()
    return (performance.now() - start) / 1000
  }

  // proofs: fresh commitments, so each opens a new session (a proof) on the same connection
  await (await open('delete', 1000n)).close()
  let proof = 0
  for (let i = 0; i < PROOFS; i++) proof += await seconds(async () => (await open('delete', 2000n + BigInt(i))).close())
  proof /= PROOFS

  const deleter = await open('delete', d)
  const pages = Array.from({ length: Math.ceil(ids.length / MAX_RENEW_CHUNK_IDS) }, (_, i) => ids.slice(i * MAX_RENEW_CHUNK_IDS, (i + 1) * MAX_RENEW_CHUNK_IDS))
  const renew = await seconds(async () => { for (const page of pages) await deleter.renew(page) })
  await deleter.close()
  const reader = await open('read', s)
  const get = await seconds(async () => Promise.all(ids.map(async (id) => reader.get(id))))
  await reader.close()

  await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 50))
  await node.side.storage.sweepLeases(RECORDS) // into the trash (0 ms)
  await new Promise((resolve) => setTimeout(resolve, 10))
  let collected = 0
  const sweep = await seconds(async () => {
    for (let more = true; more;) {
      const round = await node.side.storage.sweepLeases(1000)
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
  // 10,000 files on 10 holders, each file on every holder: 100,000 records per chunk, one proof per (file, holder) or per (batch, holder)
  const holders = 10
  const files = 10_000
  const ownSecrets = files * holders * proof + files * holders / renewRate
  const batched = Math.ceil(files / 5_000) * holders * proof + files * holders / renewRate
  console.log(`10,000 one-chunk files on 10 holders, each file its own commitment: ~${(ownSecrets / 60).toFixed(0)} min of proofs and renewals (in sequence)`)
  console.log(`the same files in batches of 5,000 (one commitment per batch):      ~${(batched / 60).toFixed(1)} min`)
} finally {
  await owner.stop()
  await node.stop()
  await prover.close()
  await verifier.close()
  await dir.cleanup()
}
