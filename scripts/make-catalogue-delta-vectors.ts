// Writes test/vectors/catalogue-deltas.json: a catalogue chain of protocol v2 (a whole
// catalogue and two version 5 deltas over it) from fixed inputs, with chains a reader
// must refuse, for other implementations to check their readers against
// (protocol-spec/manifests-and-catalogue.md, "Catalogue deltas").
//
//   bash scripts/node.sh scripts/make-catalogue-delta-vectors.ts
//
// Sealing draws random nonces, so each run writes different ciphertext; every run's
// output is equally valid and the committed file is the published one. Edition ids come
// from a fixed source and Ed25519 signatures are deterministic, so documents and
// signatures are reproducible. test/catalogue-delta-vectors.test.ts reads them with
// node:crypto following the spec, and with the implementation.
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeKeyOf } from '../src/domain/capabilities/file-capabilities.ts'
import { signBody, splitSignedBody } from '../src/domain/capabilities/signed-body.ts'
import { CATALOGUE_SIGNATURE_LABEL, cataloguePieceAad, cataloguePieceCodec, catalogueWriter, emptyCatalogue, type CatalogueEntry, type CatalogueGroup } from '../src/domain/formats/catalogue.ts'
import { sealBase, sealDelta, type CatalogueChain } from '../src/domain/formats/catalogue-chain.ts'
import { encodeDelta, type CatalogueDelta } from '../src/domain/formats/catalogue-delta.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { catalogueKey } from '../src/domain/crypto/key-derivation.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fixed = (text: string, length: number): Uint8Array => createHash('sha256').update(text).digest().subarray(0, length)
const edition = (text: string) => (n: number): Uint8Array => fixed(text, n)

const master = Uint8Array.from({ length: 32 }, (_, i) => i)
const peers = ['12D3KooWGzBhGjFbAGmDQ5rPkMqEJPWjS6GKHZyM3Sq2sXzr9hEa', '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK']
const group = (name: string, version?: number): CatalogueGroup => ({ id: hex(fixed(name, 16)), root: 'photos', ...(version === undefined ? {} : { version }), storedAt: 1_700_000_000_000 + (version ?? 1) })
const file = (name: string, g: CatalogueGroup, n: number): CatalogueEntry => ({
  fileId: hex(fixed(`file ${name} ${n}`, 16)), name, kind: 'file', size: 20_480, mode: 0o644, mtimeMs: 1_700_000_000_000 + n,
  contentHash: hex(fixed(`content ${name} ${n}`, 32)), statStamp: hex(fixed(`stamp ${name} ${n}`, 16)),
  batch: hex(fixed('batch', 16)), chunks: [{ id: chunkIdOf(fixed(`chunk ${name} ${n}`, 16)), holders: [...peers] }], group: g
})

const v1 = group('version 1')
const first: CatalogueEntry[] = [
  { fileId: hex(fixed('dir 1', 16)), name: 'photos', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 1, group: v1 },
  file('photos/a.jpg', v1, 1), file('photos/b.jpg', v1, 1), file('photos/c.jpg', v1, 1)
]
const base = sealBase(emptyCatalogue(1_700_000_000_000), first, 1_700_000_000_001, master, edition('base edition'))
// a re-put: b.jpg changed, a.jpg and c.jpg kept (moved into version 2's group), a new directory entry
const v2 = group('version 2', 2)
const second = [...base.catalogue.entries, { ...first[0]!, fileId: hex(fixed('dir 2', 16)), group: v2 }, { ...base.catalogue.entries[1]!, group: v2 }, file('photos/b.jpg', v2, 2), { ...base.catalogue.entries[3]!, group: v2 }]
const one = sealDelta(base, second, 1_700_000_000_002, master, edition('delta 1 edition'))
// version 1's c.jpg dropped, and a share recorded on version 2's a.jpg (written out again)
const third = one.chain.catalogue.entries.filter((_, i) => i !== 3).map((e, i) => i === 4 ? { ...e, shares: [{ label: 'Alice', createdAt: 1_700_000_000_003 }] } : e)
const two = sealDelta(one.chain, third, 1_700_000_000_003, master, edition('delta 2 edition'))

const sealing = (chain: CatalogueChain, pieces: Uint8Array[], name: string): Record<string, unknown> => {
  const signed = splitSignedBody(cataloguePieceCodec(master).openEdition(pieces).body)!
  return { generation: chain.tip.generation, edition: hex(edition(name)(16)), document: Buffer.from(signed.document).toString('utf8'), signature: hex(signed.signature), pieces: pieces.map(hex) }
}

const sealOwn = (delta: CatalogueDelta, name: string, signer = catalogueWriter(master)): string[] =>
  cataloguePieceCodec(master).sealEdition(signBody(CATALOGUE_SIGNATURE_LABEL, signer, encodeDelta(delta)), delta.generation, edition(name)).pieces.map(hex)
const onTip = (changes: Partial<CatalogueDelta>): CatalogueDelta => ({
  version: 5, kind: 'delta', generation: 4, updatedAt: 1_700_000_000_004, base: { generation: 1, edition: base.tip.edition }, parent: two.chain.tip, groups: [], ops: [{ drop: two.chain.catalogue.entries.length }], ...changes
})

const vectors = {
  description: 'Quloud protocol v2 catalogue chain: a whole catalogue (version 4) and two deltas (version 5) over it; see protocol-spec/manifests-and-catalogue.md, "Catalogue deltas". Bytes are lowercase hex.',
  master: hex(master),
  catalogueKey: hex(catalogueKey(master)),
  aad: hex(cataloguePieceAad()),
  writer: hex(catalogueWriter(master).publicKey),
  signatureLabel: CATALOGUE_SIGNATURE_LABEL,
  base: sealing(base, base.pieces, 'base edition'),
  deltas: [sealing(one.chain, one.pieces, 'delta 1 edition'), sealing(two.chain, two.pieces, 'delta 2 edition')],
  value: two.chain.catalogue,
  refused: [
    { why: 'the first delta withheld while the second is served: a gap', without: [0], pieces: [], error: 'CatalogueGapError' },
    { why: 'a delta of generation 4 signed by another key: ignored', without: [], pieces: sealOwn(onTip({}), 'forged edition', writeKeyOf(fixed('another key', 32))), error: 'ignored' },
    { why: 'a delta of generation 4 that names another base than the chain\'s', without: [], pieces: sealOwn(onTip({ base: { generation: 1, edition: hex(fixed('no such base', 16)) } }), 'wrong base edition'), error: 'CatalogueGapError' },
    { why: 'a delta of generation 5 whose parent is generation 3: its document does not read', without: [], pieces: sealOwn(onTip({ generation: 5 }), 'skipping edition'), error: 'InvalidCatalogueError' }
  ]
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors', 'catalogue-deltas.json')
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n')
console.log(`wrote ${out}`)
