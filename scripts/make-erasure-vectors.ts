// Writes test/vectors/erasure.json: Reed-Solomon stripes of the code version 3 uses
// (data shards then parity shards, for 2+1, 4+2 and 4+4), and a whole erasure-coded file of
// two stripes: its plaintext, every shard's plaintext, owner-layer AAD and sealed bytes,
// and its signed, sealed version 3 manifest. Sealed values use random nonces, so a new
// run writes other bytes; what a reader checks (they open, ids match, the document
// decodes to the value) holds for every run. Checked by test/erasure-vectors.test.ts.
//   bash scripts/node.sh scripts/make-erasure-vectors.ts
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { ownerFileCapabilities } from '../src/domain/capabilities/file-capabilities.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { fileIdToString } from '../src/domain/formats/file-id.ts'
import { contentKey, retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { encodeManifest, ERASURE_MANIFEST_VERSION, sealManifest, type Manifest } from '../src/domain/formats/manifest.ts'
import { OwnerChunkCipher, ownerChunkAad } from '../src/domain/crypto/owner-layer.ts'
import { shardIndex, shardsPerStripe, stripeBytes, stripeCount, type ErasureScheme } from '../src/domain/formats/stripe-layout.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { encodeShareCode } from '../src/domain/formats/share-code.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fixed = (text: string, length: number): Uint8Array => {
  const out = new Uint8Array(length)
  for (let at = 0, i = 0; at < length; i++) {
    const block = createHash('sha256').update(`${text} ${i}`).digest()
    out.set(block.subarray(0, Math.min(32, length - at)), at)
    at += 32
  }
  return out
}
const codec = new ReedSolomonCodec()

async function stripeVector (scheme: ErasureScheme, shardSize: number): Promise<{ scheme: ErasureScheme, shardSize: number, shards: string[] }> {
  const data = fixed(`quloud vector: stripe ${scheme.data}+${scheme.parity}`, scheme.data * shardSize)
  const parity = await codec.encode(scheme, data)
  const shards = [...Array.from({ length: scheme.data }, (_, j) => data.subarray(j * shardSize, (j + 1) * shardSize)),
    ...Array.from({ length: scheme.parity }, (_, j) => parity.subarray(j * shardSize, (j + 1) * shardSize))]
  return { scheme, shardSize, shards: shards.map(hex) }
}

const master = Uint8Array.from({ length: 32 }, (_, i) => i)
const fileId = fixed('quloud vector: erasure file id', 16)
const caps = ownerFileCapabilities(master, fileId)
const scheme = { data: 4, parity: 2 }
const shardSize = 16
const size = 100
const plaintext = fixed('quloud vector: erasure file', size)
const peers = ['12D3KooWGzBhGjFbAGmDQ5rPkMqEJPWjS6GKHZyM3Sq2sXzr9hEa', '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK',
  '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo', '12D3KooWLJtG8fd2hkQzTn96MrLvThmnNQjTUFZwGEsLRz5EmSzc',
  '12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3', '12D3KooWMvyvKxYcy9mjbgbXa5HfDHY3swCSfKCqhuBPP6Ymar9q']
const cipher = new OwnerChunkCipher(contentKey(caps.read.readRoot), fileId)
const n = shardsPerStripe(scheme)
const stripes = stripeCount(size, scheme, shardSize)
const shards: Array<{ stripe: number, shard: number, index: number, final: boolean, plaintext: string, aad: string, sealed: string, id: string }> = []
for (let s = 0; s < stripes; s++) {
  const data = new Uint8Array(stripeBytes(scheme, shardSize))
  data.set(plaintext.subarray(s * data.byteLength, (s + 1) * data.byteLength))
  const parity = await codec.encode(scheme, data)
  for (let j = 0; j < n; j++) {
    const plain = j < scheme.data ? data.subarray(j * shardSize, (j + 1) * shardSize) : parity.subarray((j - scheme.data) * shardSize, (j - scheme.data + 1) * shardSize)
    const index = shardIndex(scheme, s, j)
    const final = index === stripes * n - 1
    const sealed = cipher.seal(index, final, plain)
    shards.push({ stripe: s, shard: j, index, final, plaintext: hex(plain), aad: hex(ownerChunkAad(fileId, index, final)), sealed: hex(sealed), id: chunkIdOf(sealed) })
  }
}
const manifest: Manifest = {
  version: ERASURE_MANIFEST_VERSION,
  fileId: fileIdToString(fileId),
  revision: 1,
  name: 'clip.mp4',
  kind: 'file',
  size,
  mode: 0o644,
  mtimeMs: 1_700_000_000_000,
  chunkSize: shardSize,
  chunks: shards.map((s) => ({ id: s.id, size: shardSize })),
  // shard j of every stripe on peer j; the second stripe's first parity shard lost
  holders: shards.map((s) => s.stripe === 1 && s.shard === scheme.data ? [] : [peers[s.shard]!]),
  erasure: scheme,
  deleteCommitment: commitmentToDecimal(poseidonCommitment(caps.deleteSecret)),
  writer: hex(caps.write.publicKey),
  receipts: [{ peerId: peers[0]!, chunkId: shards[0]!.id, timeMs: 1_700_000_000_500, signature: Buffer.alloc(64, 9).toString('base64') }]
}

const vectors = {
  description: 'Quloud manifest version 3: Reed-Solomon stripes and an erasure-coded file; see protocol-spec/manifests-and-catalogue.md, "Manifest (version 3)". Bytes are lowercase hex.',
  stripes: [await stripeVector({ data: 2, parity: 1 }, 16), await stripeVector({ data: 4, parity: 2 }, 16), await stripeVector({ data: 4, parity: 4 }, 16)],
  file: {
    master: hex(master),
    fileId: hex(fileId),
    shareCode: encodeShareCode(caps.read),
    contentKey: hex(contentKey(caps.read.readRoot)),
    readCommitment: commitmentToDecimal(poseidonCommitment(retrievalSecret(caps.read.readRoot))),
    plaintext: hex(plaintext),
    shards,
    document: Buffer.from(encodeManifest(manifest)).toString('utf8'),
    value: manifest,
    pieces: sealManifest(manifest, caps.read, caps.write).map(hex)
  }
}
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors', 'erasure.json')
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n')
console.log(`wrote ${out}`)
