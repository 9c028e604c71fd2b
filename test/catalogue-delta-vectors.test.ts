import assert from 'node:assert/strict'
import { createDecipheriv, createPublicKey, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import type { Catalogue } from '../src/domain/formats/catalogue.ts'
import { newestChain } from '../src/domain/formats/catalogue-chain.ts'
import { decodeGenerationDocument } from '../src/domain/formats/catalogue-delta.ts'

interface Sealing { generation: number, edition: string, document: string, signature: string, pieces: string[] }
const vectors = JSON.parse(readFileSync(new URL('./vectors/catalogue-deltas.json', import.meta.url), 'utf8')) as {
  master: string, catalogueKey: string, aad: string, writer: string, signatureLabel: string
  base: Sealing, deltas: Sealing[], value: Catalogue
  refused: Array<{ why: string, without: number[], pieces: string[], error: string }>
}
const bytes = (text: string): Buffer => Buffer.from(text, 'hex')
const all = (): Uint8Array[] => [vectors.base, ...vectors.deltas].flatMap((s) => s.pieces.map(bytes))

// --- the spec with node:crypto alone ("Sealed pieces", "Signed bodies", "Catalogue deltas") ---

/** One catalogue piece opened: its header and body. */
function openBySpec (sealed: Buffer): { edition: string, generation: number, index: number, count: number, body: Buffer } {
  assert.equal(sealed[0], 1)
  const decipher = createDecipheriv('aes-256-gcm', bytes(vectors.catalogueKey), sealed.subarray(1, 13), { authTagLength: 16 })
  decipher.setAAD(bytes(vectors.aad))
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - 16))
  const plain = Buffer.concat([decipher.update(sealed.subarray(13, sealed.byteLength - 16)), decipher.final()])
  return { edition: plain.subarray(0, 16).toString('hex'), generation: Number(plain.readBigUInt64BE(16)), index: plain.readUInt32BE(24), count: plain.readUInt32BE(28), body: plain.subarray(32) }
}

/** The sealing's document, its signature checked under the owner's catalogue writer key. */
function documentBySpec (sealing: Sealing): any {
  const pieces = sealing.pieces.map((p) => openBySpec(bytes(p))).sort((a, b) => a.index - b.index)
  for (const p of pieces) {
    assert.equal(p.edition, sealing.edition)
    assert.equal(p.generation, sealing.generation)
    assert.equal(p.count, pieces.length)
  }
  const body = Buffer.concat(pieces.map((p) => p.body))
  const document = body.subarray(0, body.byteLength - 64)
  assert.equal(document.toString('utf8'), sealing.document)
  const key = createPublicKey({ key: Buffer.concat([bytes('302a300506032b6570032100'), bytes(vectors.writer)]), format: 'der', type: 'spki' })
  assert.ok(verify(null, Buffer.concat([Buffer.from(`${vectors.signatureLabel}\0`, 'ascii'), document]), key, body.subarray(body.byteLength - 64)))
  assert.equal(body.subarray(body.byteLength - 64).toString('hex'), sealing.signature)
  return JSON.parse(sealing.document)
}

/** An encoded entry with its peer indexes resolved through `peers`: the shape of a decoded entry. */
function resolved (wire: any, peers: string[]): any {
  const out = { ...wire }
  for (const key of ['manifest', 'chunks']) {
    if (out[key] !== undefined) out[key] = out[key].map(([id, holders]: [string, number[]]) => ({ id, holders: holders.map((i) => peers[i]) }))
  }
  return out
}

/** "Catalogue deltas": the operations applied with a cursor over the parent's entries. */
function applyBySpec (parent: any[], delta: any): any[] {
  const out: any[] = []
  let cursor = 0
  for (const op of delta.ops) {
    if (typeof op === 'number' && op > 0) {
      out.push(...parent.slice(cursor, cursor + op))
      cursor += op
    } else if (typeof op === 'number') {
      cursor -= op
    } else if (Array.isArray(op)) {
      const [from, count, group] = op
      for (const e of parent.slice(from, from + count)) out.push(group === undefined ? e : { ...e, group: delta.groups[group] })
    } else {
      out.push(resolved(op, delta.peers))
    }
  }
  assert.equal(cursor, parent.length, 'every parent entry kept or dropped')
  return out
}

describe('catalogue delta vectors', () => {
  it('by the spec: the base and each delta open, are signed by the owner, chain by parent and base, and apply to the value', () => {
    const base = documentBySpec(vectors.base)
    assert.equal(base.kind, undefined)
    let entries = base.entries.map((e: any) => resolved(e, base.peers))
    let parent = vectors.base
    for (const sealing of vectors.deltas) {
      const delta = documentBySpec(sealing)
      assert.equal(delta.version, 5)
      assert.equal(delta.kind, 'delta')
      assert.deepEqual(delta.parent, [parent.generation, parent.edition])
      assert.deepEqual(delta.base, [vectors.base.generation, vectors.base.edition])
      assert.equal(delta.generation, parent.generation + 1)
      entries = applyBySpec(entries, delta)
      parent = sealing
    }
    assert.ok(vectors.deltas[0]!.document.includes('[1,1,0]'), 'the re-put moves a kept file into the new group')
    assert.deepEqual(entries, vectors.value.entries)
  })

  it('by the implementation: the newest chain of all the pieces is the value', () => {
    assert.deepEqual(newestChain(all(), bytes(vectors.master))!.catalogue, vectors.value)
  })

  it('refusals: a gap, a forged signer, a wrong base, a parent that skips a generation', () => {
    for (const r of vectors.refused) {
      const sealings = [vectors.base, ...vectors.deltas.filter((_, i) => !r.without.includes(i))]
      const pieces = [...sealings.flatMap((s) => s.pieces.map(bytes)), ...r.pieces.map(bytes)]
      if (r.error === 'ignored') {
        assert.deepEqual(newestChain(pieces, bytes(vectors.master))!.catalogue, vectors.value, r.why)
      } else if (r.error === 'InvalidCatalogueError') {
        const opened = r.pieces.map((p) => openBySpec(bytes(p)))
        const body = Buffer.concat(opened.map((p) => p.body))
        assert.throws(() => decodeGenerationDocument(body.subarray(0, body.byteLength - 64)), { name: r.error }, r.why)
        assert.deepEqual(newestChain(pieces, bytes(vectors.master))!.catalogue, vectors.value, `${r.why}: no candidate, no gap`)
      } else {
        assert.throws(() => newestChain(pieces, bytes(vectors.master)), { name: r.error }, r.why)
      }
    }
  })
})
