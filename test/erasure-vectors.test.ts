import assert from 'node:assert/strict'
import { createDecipheriv } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { ownerChunkAad } from '../src/domain/crypto/owner-layer.ts'
import { decodeManifest, encodeManifest, openManifest, type Manifest } from '../src/domain/formats/manifest.ts'
import { decodeShareCode } from '../src/domain/formats/share-code.ts'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import type { ErasureScheme } from '../src/domain/formats/stripe-layout.ts'

interface Shard { stripe: number, shard: number, index: number, final: boolean, plaintext: string, aad: string, sealed: string, id: string }
const vectors = JSON.parse(readFileSync(new URL('./vectors/erasure.json', import.meta.url), 'utf8')) as {
  stripes: Array<{ scheme: ErasureScheme, shardSize: number, shards: string[] }>
  file: { fileId: string, shareCode: string, contentKey: string, plaintext: string, shards: Shard[], document: string, value: Manifest, pieces: string[] }
}
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'))
const codec = new ReedSolomonCodec()
const f = vectors.file

/** Every way of choosing `size` of `0..n-1`. */
function subsets (n: number, size: number): number[][] {
  if (size === 0) return [[]]
  if (n < size) return []
  return [...subsets(n - 1, size - 1).map((s) => [...s, n - 1]), ...subsets(n - 1, size)]
}

/** owner-layer.md by node:crypto alone: 0x01 || nonce (12) || ciphertext || tag (16). */
function openBySpec (key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer {
  assert.equal(sealed[0], 1)
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13), { authTagLength: 16 })
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - 16))
  return Buffer.concat([decipher.update(sealed.subarray(13, sealed.byteLength - 16)), decipher.final()])
}

describe('published vectors v3: Reed-Solomon stripes and an erasure-coded file', () => {
  for (const v of vectors.stripes) {
    it(`${v.scheme.data}+${v.scheme.parity}: the parity shards are the code's, and any ${v.scheme.data} shards give the stripe back`, async () => {
      const shards = v.shards.map(bytes)
      const data = Buffer.concat(shards.slice(0, v.scheme.data))
      assert.deepEqual(Buffer.from(await codec.encode(v.scheme, data)), Buffer.concat(shards.slice(v.scheme.data)))
      for (const kept of subsets(shards.length, v.scheme.data)) {
        assert.ok(Buffer.from(await codec.decode(v.scheme, shards.map((s, i) => kept.includes(i) ? s : undefined))).equals(data), `from ${kept.join(',')}`)
      }
    })
  }

  it('the manifest document decodes to the value and the value encodes to the document, keys in the spec\'s order', () => {
    assert.deepEqual(decodeManifest(Buffer.from(f.document)), f.value)
    assert.equal(Buffer.from(encodeManifest(f.value)).toString('utf8'), f.document)
    assert.deepEqual(Object.keys(JSON.parse(f.document)), ['version', 'fileId', 'revision', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'scheme', 'shardSize', 'stripes', 'peers', 'holders', 'deleteCommitment', 'writer', 'receipts'])
  })

  it('the sealed manifest opens from the share code alone, signed by the key it pins', () => {
    assert.deepEqual(openManifest(f.pieces.map(bytes), decodeShareCode(f.shareCode), parseFileId(f.fileId)), f.value)
  })

  it('every shard: its id is its sealed bytes\' and the manifest\'s, its AAD is its flat index and finality, it opens by the spec', () => {
    const wire = JSON.parse(f.document) as { stripes: string[][], shardSize: number }
    const n = f.value.erasure!.data + f.value.erasure!.parity
    assert.equal(f.shards.length, wire.stripes.length * n)
    for (const s of f.shards) {
      assert.equal(s.index, s.stripe * n + s.shard)
      assert.equal(s.final, s.index === f.shards.length - 1)
      assert.equal(chunkIdOf(bytes(s.sealed)), s.id)
      assert.equal(wire.stripes[s.stripe]![s.shard], s.id)
      assert.equal(Buffer.from(ownerChunkAad(parseFileId(f.fileId), s.index, s.final)).toString('hex'), s.aad)
      assert.equal(openBySpec(bytes(f.contentKey), bytes(s.aad), bytes(s.sealed)).toString('hex'), s.plaintext)
      assert.equal(s.plaintext.length / 2, wire.shardSize)
    }
  })

  it('the file is the first `size` bytes of its decoded stripes, from any k shards of each', async () => {
    const scheme = f.value.erasure!
    const n = scheme.data + scheme.parity
    const stripes = f.shards.length / n
    for (const kept of subsets(n, scheme.data)) {
      const parts: Buffer[] = []
      for (let s = 0; s < stripes; s++) {
        const shards = f.shards.filter((x) => x.stripe === s).map((x) => kept.includes(x.shard) ? bytes(x.plaintext) : undefined)
        parts.push(Buffer.from(await codec.decode(scheme, shards)))
      }
      assert.equal(Buffer.concat(parts).subarray(0, f.value.size).toString('hex'), f.plaintext, `from shards ${kept.join(',')}`)
    }
  })
})
