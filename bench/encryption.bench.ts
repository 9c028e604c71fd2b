// Throughput of the encryption layers on one core, 1 MiB chunks.
//   bash scripts/node.sh bench/run.ts encryption
// MB = 10^6 bytes. Each row runs for about a second after a warm-up; shared machines
// are noisy, so read the figures as orders of magnitude and ratios.
import { createCipheriv, createHash, createSecretKey, randomBytes } from 'node:crypto'
import { blake3 } from '@noble/hashes/blake3.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { AtRestEncryptedChunkStore } from '../src/adapters/chunk-store/at-rest-encrypted-chunk-store.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { CHUNK_SIZE } from '../src/domain/formats/chunker.ts'
import { newFileId } from '../src/domain/formats/file-id.ts'
import { nodeAtRestKey } from '../src/domain/crypto/key-derivation.ts'
import { generateMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { OwnerChunkCipher } from '../src/domain/crypto/owner-layer.ts'
import type { ChunkId, ChunkStore } from '../src/ports/chunk-store.ts'

interface Row { name: string, mbps: number, msPerOp: number, ops: number }
const rows: Row[] = []

async function measure (name: string, bytesPerOp: number, op: () => unknown, seconds = 1): Promise<void> {
  for (let i = 0; i < 3; i++) await op()
  let ops = 0
  const start = process.hrtime.bigint()
  let elapsed = 0
  while (elapsed < seconds * 1e9 || ops < 3) {
    await op()
    ops++
    elapsed = Number(process.hrtime.bigint() - start)
  }
  const secs = elapsed / 1e9
  rows.push({ name, mbps: (bytesPerOp * ops) / 1e6 / secs, msPerOp: (secs * 1e3) / ops, ops })
  process.stderr.write('.')
}

/**
 * An inner store that copies nothing, so the wrapper's cost shows alone. It keeps the
 * last few values only: retaining every chunk of a run would measure the GC instead.
 */
class BareStore implements ChunkStore {
  private readonly map = new Map<ChunkId, Uint8Array>()
  async put (id: ChunkId, bytes: Uint8Array): Promise<void> {
    if (this.map.size > 4 && !this.map.has(id)) this.map.delete(this.map.keys().next().value!)
    this.map.set(id, bytes)
  }
  async get (id: ChunkId): Promise<Uint8Array> { return this.map.get(id)! }
  async has (id: ChunkId): Promise<boolean> { return this.map.has(id) }
  async delete (id: ChunkId): Promise<void> { this.map.delete(id) }
  async * ids (): AsyncIterable<ChunkId> { yield * this.map.keys() }
  async usedBytes (): Promise<number> { return 0 }
  async close (): Promise<void> {}
}

const chunk = randomBytes(CHUNK_SIZE)
const owner = OwnerChunkCipher.forFile(generateMasterSecret(), newFileId())
const atRest = new AtRestEncryptedChunkStore({ inner: new BareStore(), key: nodeAtRestKey(randomBytes(32)) })
const sealed = owner.seal(0, false, chunk)
const id = chunkIdOf(sealed)
await atRest.put(id, sealed)
const rawKey = randomBytes(32)
const keyObject = createSecretKey(rawKey)

await measure('owner layer seal', CHUNK_SIZE, () => owner.seal(1, false, chunk))
await measure('owner layer open', CHUNK_SIZE, () => owner.open(0, false, sealed))
await measure('at-rest layer put (seal)', CHUNK_SIZE, async () => atRest.put(id, sealed))
await measure('at-rest layer get (open)', CHUNK_SIZE, async () => atRest.get(id))
await measure('both: owner seal + at-rest put', CHUNK_SIZE, async () => atRest.put(id, owner.seal(0, false, chunk)))
await measure('both: at-rest get + owner open', CHUNK_SIZE, async () => owner.open(0, false, await atRest.get(id)))
await measure('both + chunk id: seal, SHA-256, put', CHUNK_SIZE, async () => {
  const s = owner.seal(0, false, chunk)
  await atRest.put(chunkIdOf(s), s)
})
// the cipher alone, without the layers' framing and output copy: what caching the key object saves
for (const [name, key] of [['KeyObject made once', keyObject], ['raw key each call', rawKey]] as const) {
  await measure(`bare AES-256-GCM encrypt, ${name}`, CHUNK_SIZE, () => {
    const c = createCipheriv('aes-256-gcm', key, randomBytes(12))
    c.update(chunk)
    c.final()
    return c.getAuthTag()
  })
}
await measure('SHA-256 node:crypto', CHUNK_SIZE, () => createHash('sha256').update(chunk).digest())
await measure('SHA-256 @noble/hashes', CHUNK_SIZE, () => sha256(chunk), 0.5)
const small = chunk.subarray(0, 256 * 1024)
await measure('BLAKE3 @noble/hashes (256 KiB sample)', small.byteLength, () => blake3(small), 0.3)
process.stderr.write('\n')

const width = Math.max(...rows.map((r) => r.name.length))
console.log(`Node ${process.version}, ${CHUNK_SIZE / 1024} KiB chunks, one core, MB = 10^6 bytes`)
console.log(`${'case'.padEnd(width)}  ${'MB/s'.padStart(7)}  ${'ms/op'.padStart(7)}  ${'ops'.padStart(5)}`)
console.log(`${'-'.repeat(width)}  ${'-'.repeat(7)}  ${'-'.repeat(7)}  ${'-'.repeat(5)}`)
for (const r of rows) {
  console.log(`${r.name.padEnd(width)}  ${r.mbps.toFixed(0).padStart(7)}  ${r.msPerOp.toFixed(3).padStart(7)}  ${String(r.ops).padStart(5)}`)
}
const combined = rows.find((r) => r.name.startsWith('both: owner seal'))!
console.log(`\nowner + at-rest on one core: ${combined.mbps.toFixed(0)} MB/s sealing (goal >= 500 MB/s)`)
