import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { writeKeyOf } from '../src/domain/capabilities/file-capabilities.ts'
import { signBody } from '../src/domain/capabilities/signed-body.ts'
import { CATALOGUE_SIGNATURE_LABEL, cataloguePieceCodec, catalogueWriter, emptyCatalogue, newCatalogueGroup, type CatalogueEntry, type CatalogueGroup } from '../src/domain/formats/catalogue.ts'
import { MAX_CHAIN_DELTAS, newestChain, openChain, sealBase, sealDelta, type CatalogueChain } from '../src/domain/formats/catalogue-chain.ts'
import { applyDelta, CATALOGUE_DELTA_VERSION, decodeGenerationDocument, diffEntries, encodeDelta, MAX_DELTA_OPS, type CatalogueDelta } from '../src/domain/formats/catalogue-delta.ts'
import { checkEntries } from '../src/domain/formats/catalogue-format.ts'
import { fileIdToString, newFileId } from '../src/domain/formats/file-id.ts'
import { fakeChunkId, fakePeerId } from './helpers/owner-fixtures.ts'

const invalid = { name: 'InvalidCatalogueError' }
const gap = { name: 'CatalogueGapError' }
const peers = Array.from({ length: 3 }, fakePeerId)
const master = randomBytes(32)

function file (name: string, group?: CatalogueGroup): CatalogueEntry {
  return {
    fileId: fileIdToString(newFileId()), name, kind: 'file', size: 20480, mode: 0o644, mtimeMs: 1_700_000_000_000,
    contentHash: randomBytes(32).toString('hex'), statStamp: randomBytes(16).toString('hex'),
    batch: randomBytes(16).toString('hex'), chunks: [{ id: fakeChunkId(), holders: [...peers] }],
    ...(group === undefined ? {} : { group })
  }
}

/** `put tree` of `n` files: its directory entry and files, in one group. */
function tree (n: number, version?: number): CatalogueEntry[] {
  const group: CatalogueGroup = { ...newCatalogueGroup('tree'), ...(version === undefined ? {} : { version }), storedAt: 1_700_000_000_000 + (version ?? 1) }
  return [
    { fileId: fileIdToString(newFileId()), name: 'tree', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 1, group },
    ...Array.from({ length: n }, (_, i) => file(`tree/f${i}.bin`, group))
  ]
}

/** The next version of the newest `tree` as put-versions.ts makes it: every file kept but `changed`, which are new. */
function reput (entries: CatalogueEntry[], version: number, changed: number): CatalogueEntry[] {
  const newest = entries.filter((e) => e.group?.root === 'tree' && (e.group.version ?? 1) === version - 1)
  const group: CatalogueGroup = { ...newCatalogueGroup('tree'), version, storedAt: 1_700_000_000_000 + version }
  return newest.map((e, i) => {
    if (e.kind === 'directory') return { ...e, fileId: fileIdToString(newFileId()), group }
    return i <= changed ? file(e.name, group) : { ...e, group }
  })
}

/** A delta document signed by this owner and sealed: what a writer (or a buggy one) stores. */
function sealedDelta (delta: CatalogueDelta, signer = catalogueWriter(master)): { edition: string, pieces: Uint8Array[] } {
  return cataloguePieceCodec(master).sealEdition(signBody(CATALOGUE_SIGNATURE_LABEL, signer, encodeDelta(delta)), delta.generation)
}

/** A base of one tree and three deltas: a re-put, an rm of an older version's file, a share recorded. */
function chainOfThree (): { chains: CatalogueChain[], pieces: Uint8Array[][] } {
  const base = sealBase(emptyCatalogue(1000), tree(50), 2000, master)
  const one = sealDelta(base, [...base.catalogue.entries, ...reput(base.catalogue.entries, 2, 2)], 3000, master)
  const two = sealDelta(one.chain, one.chain.catalogue.entries.filter((_, i) => i !== 7), 4000, master)
  const three = sealDelta(two.chain, two.chain.catalogue.entries.map((e, i) => i === 60 ? { ...e, shares: [{ label: 'Bob', createdAt: 5000 }] } : e), 5000, master)
  return { chains: [base, one.chain, two.chain, three.chain], pieces: [base.pieces, one.pieces, two.pieces, three.pieces] }
}

describe('catalogue deltas', () => {
  it('a re-put of a tree is a few operations: kept entries by position, unchanged files moved into the new group, changed ones written out', () => {
    const base = tree(2000)
    const next = [...base, ...reput(base, 2, 20)]
    const { groups, ops } = diffEntries(base, next)
    assert.equal(groups.length, 1)
    assert.deepEqual(ops[0], { keep: base.length }, 'the first version is kept as one run')
    assert.equal(ops.filter((op) => 'add' in op).length, 21, 'the directory entry (a new id) and the 20 changed files')
    assert.ok(ops.length <= 23, `${ops.length} operations`)
    const document = encodeDelta({ version: CATALOGUE_DELTA_VERSION, kind: 'delta', generation: 2, updatedAt: 2, base: { generation: 1, edition: '00'.repeat(16) }, parent: { generation: 1, edition: '00'.repeat(16) }, groups, ops })
    const read = decodeGenerationDocument(document)
    assert.equal(read.kind, 'delta')
    const applied = applyDelta({ version: 4, generation: 1, updatedAt: 1, entries: base }, (read as { delta: CatalogueDelta }).delta)
    assert.deepEqual(applied.entries, next)
    const whole = sealBase(emptyCatalogue(0), next, 2, master)
    assert.ok(document.byteLength * 50 < whole.base.bytes, `a delta of ${document.byteLength} bytes against a whole catalogue of ${whole.base.bytes}`)
  })

  it('removals, replacements and reorders round-trip', () => {
    const base = [...tree(30), file('alone.txt')]
    const cases: CatalogueEntry[][] = [
      base.filter((_, i) => i % 3 !== 0),
      base.map((e, i) => i === 5 ? { ...e, shares: [{ label: '', createdAt: 1 }] } : e),
      [...base].reverse(),
      [],
      [...base, file('more.txt')]
    ]
    for (const next of cases) {
      const { groups, ops } = diffEntries(base, next)
      const delta: CatalogueDelta = { version: 5, kind: 'delta', generation: 8, updatedAt: 9, base: { generation: 3, edition: 'ab'.repeat(16) }, parent: { generation: 7, edition: 'cd'.repeat(16) }, groups, ops }
      const read = decodeGenerationDocument(encodeDelta(delta)) as { delta: CatalogueDelta }
      assert.deepEqual(applyDelta({ version: 4, generation: 7, updatedAt: 9, entries: base }, read.delta).entries, next)
    }
  })

  it('after a run of the parent\'s own entries, entries repeated from anywhere in the parent, also one it holds twice, round-trip by their last place', () => {
    const base = [...tree(12), file('alone.txt')]
    const parent = [...base, base[4]!]
    let seed = 11
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
    for (let round = 0; round < 300; round++) {
      const kept = rand(parent.length + 1)
      const tail = Array.from({ length: rand(6) }, () => rand(3) === 0 ? file(`more${round}.txt`) : parent[rand(parent.length)]!)
      const next = [...parent.slice(0, kept), ...tail]
      const { groups, ops } = diffEntries(parent, next)
      if (kept > 0 && next[kept] !== parent[kept]) assert.deepEqual(ops[0], { keep: kept })
      for (const op of ops) if ('from' in op && op.from <= 4) assert.notEqual(parent[op.from], base[4], 'an object held twice is named by its last place')
      assert.equal(groups.length, 0)
      // the operations as the spec reads them (applyDelta would also refuse this list: a name twice in one group)
      const rebuilt: CatalogueEntry[] = []
      let cursor = 0
      for (const op of ops) {
        if ('keep' in op) { rebuilt.push(...parent.slice(cursor, cursor + op.keep)); cursor += op.keep } else if ('drop' in op) cursor += op.drop
        else if ('from' in op) rebuilt.push(...parent.slice(op.from, op.from + op.count))
        else rebuilt.push(op.add)
      }
      assert.equal(cursor, parent.length)
      assert.equal(rebuilt.length, next.length)
      rebuilt.forEach((e, i) => assert.equal(e, next[i], `entry ${i} of round ${round}`))
    }
  })

  it('attack: a file id repeated in a new version with other manifest pieces is refused; the same pieces in another array pass', () => {
    const v1 = tree(2).map((e) => e.kind === 'file' ? { ...e, manifest: [{ id: fakeChunkId(), holders: [...peers] }] } : e)
    const group: CatalogueGroup = { ...newCatalogueGroup('tree'), version: 2, storedAt: 9 }
    const old = v1[1]!
    // read apart (as from the wire): equal pieces in arrays of their own, and other pieces under the same id
    checkEntries([...v1, { ...old, group, manifest: old.manifest!.map((p) => ({ ...p, holders: [...p.holders] })) }])
    assert.throws(() => checkEntries([...v1, { ...old, group, manifest: [{ id: fakeChunkId(), holders: [...peers] }] }]), invalid)
    assert.throws(() => checkEntries([...v1, { ...old, group, manifest: [{ id: fakeChunkId(), holders: [...peers] }] }], { groups: new Set([group.id]), fileIds: new Set([old.fileId]) }), invalid)
  })

  it('a chain opens strictly from the owner\'s own pieces and tolerantly from what holders return', () => {
    const { chains, pieces } = chainOfThree()
    const tip = chains[3]!
    assert.equal(tip.deltas, 3)
    assert.equal(tip.catalogue.generation, 4)
    assert.deepEqual(openChain(tip.pieces, master).catalogue, tip.catalogue)
    // several holders: repeats, an older base left from a compaction, another owner's pieces, any order
    const older = sealBase(emptyCatalogue(0), tree(3), 500, master)
    const stranger = sealBase(emptyCatalogue(0), tree(3), 500, randomBytes(32))
    const returned = [...pieces.flat(), ...pieces[1]!, ...older.pieces, ...stranger.pieces].sort(() => Math.random() - 0.5)
    const found = newestChain(returned, master)!
    assert.deepEqual(found.catalogue, tip.catalogue)
    assert.equal(found.pieces.length, tip.pieces.length)
    // the strict opener refuses what is not exactly one chain
    assert.throws(() => openChain([...tip.pieces, ...older.pieces], master), invalid)
    assert.throws(() => openChain([...pieces[0]!, ...pieces[1]!, ...pieces[3]!], master), invalid, 'a delta missing between')
  })

  it('a gap in the chain is refused, never answered with the older state', () => {
    const { pieces } = chainOfThree()
    // a holder withholds the second delta but serves the third
    assert.throws(() => newestChain([...pieces[0]!, ...pieces[1]!, ...pieces[3]!], master), gap)
    // or withholds the base the deltas build on
    assert.throws(() => newestChain([...pieces[1]!, ...pieces[2]!], master), gap)
    // dropping only the newest delta leaves a chain that is whole: nothing here tells it apart
    assert.equal(newestChain([...pieces[0]!, ...pieces[1]!, ...pieces[2]!], master)!.catalogue.generation, 3)
  })

  it('attack: pieces of two sealings of one generation (a delta a holder kept after the owner wrote that change as a base) cannot be mixed into another state', () => {
    const base = sealBase(emptyCatalogue(1000), tree(20), 2000, master)
    const entries = [...base.catalogue.entries, file('added.txt')]
    // the change as a delta the owner gave up on (a holder refused it) and as the base written instead
    const abandoned = sealDelta(base, entries, 3000, master)
    const rebased = sealBase(base.catalogue, entries, 3000, master)
    const next = sealDelta(rebased, [...rebased.catalogue.entries, file('next.txt')], 4000, master)
    const all = [...base.pieces, ...abandoned.pieces, ...rebased.pieces, ...next.pieces]
    assert.deepEqual(newestChain(all, master)!.catalogue, next.chain.catalogue)
    // the delta names the base it follows: over the abandoned sibling of its parent it opens into nothing
    assert.throws(() => newestChain([...base.pieces, ...abandoned.pieces, ...next.pieces], master), gap)
    // and with the newest delta withheld, either sealing of the generation before is the same state
    assert.deepEqual(newestChain([...base.pieces, ...abandoned.pieces, ...rebased.pieces], master)!.catalogue.entries, entries)
  })

  it('a delta not signed by the owner\'s catalogue key is no candidate, whatever generation it claims', () => {
    const { chains, pieces } = chainOfThree()
    const tip = chains[3]!
    const forged = sealedDelta({
      version: 5, kind: 'delta', generation: 5, updatedAt: 6000, base: { generation: tip.base.generation, edition: tip.base.edition }, parent: tip.tip, groups: [], ops: [{ drop: tip.catalogue.entries.length }]
    }, writeKeyOf(randomBytes(32)))
    const found = newestChain([...pieces.flat(), ...forged.pieces], master)!
    assert.equal(found.catalogue.generation, 4)
    assert.deepEqual(found.catalogue, tip.catalogue)
  })

  it('a delta that claims another base than the chain it follows is refused', () => {
    const { chains, pieces } = chainOfThree()
    const tip = chains[3]!
    const other = sealedDelta({ version: 5, kind: 'delta', generation: 5, updatedAt: 6000, base: { generation: 1, edition: 'ee'.repeat(16) }, parent: tip.tip, groups: [], ops: [{ keep: tip.catalogue.entries.length }] })
    assert.throws(() => newestChain([...pieces.flat(), ...other.pieces], master), gap, 'signed, newer, and opening into nothing')
    // a base newer than the delta's parent, or a parent that is not the generation before, does not even decode
    const bad = (changes: Partial<CatalogueDelta>): Uint8Array => encodeDelta({ version: 5, kind: 'delta', generation: 5, updatedAt: 1, base: { generation: 1, edition: 'ab'.repeat(16) }, parent: { generation: 4, edition: 'cd'.repeat(16) }, groups: [], ops: [], ...changes })
    assert.throws(() => decodeGenerationDocument(bad({ base: { generation: 4, edition: 'ee'.repeat(16) } })), invalid)
    assert.throws(() => decodeGenerationDocument(bad({ base: { generation: 5, edition: 'ab'.repeat(16) } })), invalid)
    assert.throws(() => decodeGenerationDocument(bad({ parent: { generation: 3, edition: 'cd'.repeat(16) } })), invalid)
  })

  it('refuses operations that do not fit the parent, and oversized or malformed documents', () => {
    const base = tree(5)
    const parent = { version: 4 as const, generation: 7, updatedAt: 100, entries: base }
    const delta = (ops: CatalogueDelta['ops'], extra: Partial<CatalogueDelta> = {}): CatalogueDelta =>
      ({ version: 5, kind: 'delta', generation: 8, updatedAt: 100, base: { generation: 7, edition: 'ab'.repeat(16) }, parent: { generation: 7, edition: 'ab'.repeat(16) }, groups: [], ops, ...extra })
    assert.throws(() => applyDelta(parent, delta([{ keep: 5 }])), invalid, 'an entry neither kept nor dropped')
    assert.throws(() => applyDelta(parent, delta([{ keep: 7 }])), invalid, 'past the end')
    assert.throws(() => applyDelta(parent, delta([{ keep: 6 }, { from: 4, count: 3 }])), invalid, 'a copy past the end')
    assert.throws(() => applyDelta(parent, delta([{ keep: 6 }, { from: 1, count: 1 }])), invalid, 'a copy repeating a file id in one group')
    assert.throws(() => applyDelta({ ...parent, generation: 6 }, delta([{ keep: 6 }])), invalid, 'a gap between parent and delta')
    assert.throws(() => applyDelta({ ...parent, version: 3 }, delta([{ keep: 6 }])), invalid, 'over an older format')
    assert.throws(() => applyDelta(parent, delta([{ keep: 6 }], { updatedAt: 99 })), invalid, 'back in time')
    const otherRoot: CatalogueGroup = { ...newCatalogueGroup('elsewhere'), version: 2 }
    assert.throws(() => applyDelta(parent, delta([{ keep: 6 }, { from: 1, count: 1, group: 0 }], { groups: [otherRoot] })), invalid, 'moved into another root')
    const next: CatalogueGroup = { ...newCatalogueGroup('tree'), version: 2 }
    assert.throws(() => applyDelta(parent, delta([{ drop: 1 }, { keep: 5 }, { from: 0, count: 1, group: 0 }], { groups: [next] })), invalid, 'a directory moved')
    assert.doesNotThrow(() => applyDelta(parent, delta([{ keep: 6 }, { from: 1, count: 5, group: 0 }], { groups: [next] })), 'files moved')
    assert.doesNotThrow(() => applyDelta(parent, delta([{ keep: 6 }])))
    const decode = (wire: unknown): unknown => decodeGenerationDocument(new TextEncoder().encode(JSON.stringify(wire)))
    const wire = JSON.parse(Buffer.from(encodeDelta(delta([{ keep: 6 }]))).toString())
    assert.throws(() => decode({ ...wire, ops: new Array(MAX_DELTA_OPS + 1).fill(1) }), invalid, 'oversized')
    assert.throws(() => decode({ ...wire, ops: [0] }), invalid, 'an empty run')
    assert.throws(() => decode({ ...wire, ops: [1.5] }), invalid)
    assert.throws(() => decode({ ...wire, ops: [[0]] }), invalid)
    assert.throws(() => decode({ ...wire, ops: [[0, 1, 0]] }), invalid, 'a group the table does not have')
    assert.throws(() => decode({ ...wire, groups: [{ id: 'ab'.repeat(16), root: 'tree' }] }), invalid, 'a group no operation uses')
    assert.throws(() => decode({ ...wire, peers: [peers[0]] }), invalid, 'a peer nobody refers to')
    assert.throws(() => decode({ ...wire, extra: 1 }), invalid)
    assert.throws(() => decode({ ...wire, version: 7 }), invalid, 'a version no reader knows')
  })

  it('a reader follows at most MAX_CHAIN_DELTAS deltas from one base', () => {
    let chain = sealBase(emptyCatalogue(0), [file('a')], 1, master)
    for (let i = 0; i <= MAX_CHAIN_DELTAS; i++) chain = sealDelta(chain, [...chain.catalogue.entries, file(`f${i}`)], 2 + i, master).chain
    assert.throws(() => newestChain(chain.pieces, master), gap, 'the last delta is beyond what a reader follows')
    assert.equal(openChain(chain.pieces.slice(0, -1), master).deltas, MAX_CHAIN_DELTAS)
  })

  it('checking only what a delta touched accepts and refuses exactly what checking the whole result does', () => {
    // random deltas over a catalogue of two versions of a tree and a file put twice
    const v1 = tree(6)
    const v2 = reput(v1, 2, 2)
    const single = file('alone.txt')
    // the file put alone appears as versions 1, 2 and 1 again: valid, as each neighbour differs, until version 2 goes
    const parentEntries = [...v1, ...v2, single, { ...single, version: 2, storedAt: 5 }, { ...single }]
    const parent = { version: 4 as const, generation: 3, updatedAt: 10, entries: parentEntries }
    checkEntries(parentEntries)
    let seed = 7
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
    const newGroup: CatalogueGroup = { ...newCatalogueGroup('tree'), version: 3, storedAt: 9 }
    const groupsPool = [newGroup, v2[0]!.group!, { ...v2[0]!.group!, version: 9 }]
    let accepted = 0
    let refused = 0
    for (let round = 0; round < 1500; round++) {
      const ops: CatalogueDelta['ops'] = []
      const used: CatalogueGroup[] = []
      let cursor = 0
      while (cursor < parentEntries.length) {
        const n = 1 + rand(Math.min(4, parentEntries.length - cursor))
        ops.push(rand(6) === 0 ? { drop: n } : { keep: n })
        cursor += n
      }
      for (let m = 1 + rand(2); m > 0; m--) {
        const pick = rand(parentEntries.length)
        const kind = rand(3)
        let op: CatalogueDelta['ops'][number]
        if (kind === 0) op = { from: pick, count: 1 }
        else if (kind === 1 && parentEntries[pick]!.group !== undefined && parentEntries[pick]!.kind === 'file') {
          const g = groupsPool[rand(groupsPool.length)]!
          if (!used.includes(g)) used.push(g)
          op = { from: pick, count: 1, group: used.indexOf(g) }
        } else {
          const base = parentEntries[pick]!
          const variants: CatalogueEntry[] = [{ ...base, mode: 0o600 }, { ...base, name: `${base.name}x` }, { ...base, fileId: fileIdToString(newFileId()) }, file(base.group === undefined ? 'alone.txt' : `tree/n${round}`, base.group)]
          op = { add: variants[rand(variants.length)]! }
        }
        ops.splice(rand(ops.length + 1), 0, op)
      }
      const delta: CatalogueDelta = { version: 5, kind: 'delta', generation: 4, updatedAt: 10, base: { generation: 1, edition: 'ab'.repeat(16) }, parent: { generation: 3, edition: 'cd'.repeat(16) }, groups: used, ops }
      // the result built by hand, then checked whole
      const whole: CatalogueEntry[] = []
      let at = 0
      for (const op of ops) {
        if ('keep' in op) { whole.push(...parentEntries.slice(at, at + op.keep)); at += op.keep } else if ('drop' in op) at += op.drop
        else if ('from' in op) whole.push(op.group === undefined ? parentEntries[op.from]! : { ...parentEntries[op.from]!, group: used[op.group]! })
        else whole.push(op.add)
      }
      let wholeOk = true
      try { checkEntries(whole) } catch { wholeOk = false }
      let deltaOk = true
      try { applyDelta(parent, delta) } catch { deltaOk = false }
      assert.equal(deltaOk, wholeOk, `round ${round}: ${JSON.stringify(ops.map((op) => 'add' in op ? 'add' : op))}`)
      if (deltaOk) accepted++
      else refused++
    }
    assert.ok(accepted > 30 && refused > 30, `both outcomes drawn: ${accepted} accepted, ${refused} refused`)
  })
})

