import { defineError } from '../../errors.ts'
import type { WriteKey } from '../capabilities/file-capabilities.ts'
import { cataloguePieceCodec, catalogueWriter, InvalidCatalogueError, sealCatalogueDocument, sealNextGeneration, signedDocumentOf, type Catalogue, type CatalogueEntry } from './catalogue.ts'
import { applyDelta, decodeGenerationDocument, deltaVersionFor, diffEntries, encodeDelta, type CatalogueDelta, type GenerationRef } from './catalogue-delta.ts'
import type { Edition } from './sealed-pieces.ts'

/**
 * The owner's catalogue as a chain: a base (a whole catalogue) and the deltas written
 * over it since (catalogue-delta.ts), each its own signed sealing under the catalogue
 * key, so to a storage node a delta's pieces are catalogue pieces like any other. A
 * reader takes the newest generation whose chain opens whole, and refuses to answer
 * with an older one when a newer generation signed by the owner is in sight
 * (CatalogueGapError): a holder that withholds a delta in the middle, or the base a
 * newer delta builds on, cannot pass an older state off as the current one.
 */

/** A signed generation of the catalogue was found whose chain does not open: the newest that opens is not the current one. */
export const CatalogueGapError = defineError('CatalogueGapError', 'catalogue-gap')
export type CatalogueGapError = InstanceType<typeof CatalogueGapError>

/** Pieces of one delta: a writer folds a delta this large into a new base instead. */
export const MAX_DELTA_PIECES = 64
/** Deltas a reader follows from one base: four times what a writer leaves (catalogue-service.ts compacts at 32). */
export const MAX_CHAIN_DELTAS = 128

export interface CatalogueChain {
  catalogue: Catalogue
  /** The sealing of the base the chain starts from, and its document's bytes. */
  base: GenerationRef & { bytes: number }
  /** The sealing of the newest generation: what the next delta names as its parent. */
  tip: GenerationRef
  /** Deltas over the base, and their documents' bytes together. */
  deltas: number
  deltaBytes: number
  /** Every sealed piece of the chain, base first. */
  pieces: Uint8Array[]
}

/** The next generation of `previous` as a new base: every entry encoded, signed and sealed. */
export function sealBase (previous: Catalogue, entries: CatalogueEntry[], now: number, master: Uint8Array, random?: (n: number) => Uint8Array): CatalogueChain {
  const { catalogue, bytes, edition, pieces } = sealNextGeneration(previous, entries, now, master, random)
  const generation = catalogue.generation
  return { catalogue, base: { generation, edition, bytes: bytes.byteLength }, tip: { generation, edition }, deltas: 0, deltaBytes: 0, pieces }
}

/**
 * The next generation of `chain` holding `entries`, as a delta over it: the new chain and
 * the delta's own pieces (the only ones to store) and document bytes. The delta is read
 * back as any reader reads it before it counts, so what the owner keeps is what a
 * recovery finds. InvalidCatalogueError when the entries are not a valid catalogue.
 */
export function sealDelta (chain: CatalogueChain, entries: CatalogueEntry[], now: number, master: Uint8Array, random?: (n: number) => Uint8Array): { chain: CatalogueChain, pieces: Uint8Array[], bytes: number } {
  const parent = chain.catalogue
  const generation = parent.generation + 1
  const { groups, ops } = diffEntries(parent.entries, entries)
  const document = encodeDelta({
    version: deltaVersionFor(entries, parent.version), kind: 'delta', generation, updatedAt: Math.max(now, parent.updatedAt), base: { generation: chain.base.generation, edition: chain.base.edition }, parent: chain.tip, groups, ops
  })
  const read = decodeGenerationDocument(document)
  if (read.kind !== 'delta') throw new InvalidCatalogueError('invalid catalogue: a delta did not read back as one')
  const catalogue = applyDelta(parent, read.delta)
  const { edition, pieces } = sealCatalogueDocument(document, generation, master, random)
  return {
    chain: { catalogue, base: chain.base, tip: { generation, edition }, deltas: chain.deltas + 1, deltaBytes: chain.deltaBytes + document.byteLength, pieces: [...chain.pieces, ...pieces] },
    pieces,
    bytes: document.byteLength
  }
}

/** One accepted sealing: signed by the owner, a valid document of the pieces' generation. */
type Accepted = { edition: Edition, bytes: number } & ({ kind: 'base', catalogue: Catalogue } | { kind: 'delta', delta: CatalogueDelta })

/**
 * Strict, for what the owner wrote itself (its cache): `pieces` are exactly one chain,
 * every piece opening and every sealing part of it. InvalidCatalogueError (or
 * CatalogueSignatureError, CatalogueDecryptionError) otherwise.
 */
export function openChain (pieces: Uint8Array[], master: Uint8Array): CatalogueChain {
  const editions = cataloguePieceCodec(master).openEditions(pieces, { strict: true })
  const writer = catalogueWriter(master)
  const accepted = editions.map((edition) => accept(edition, writer, true)!)
  const chains = chainsOf(accepted)
  const newest = chooseNewest(chains)
  if (newest === undefined) throw new InvalidCatalogueError('invalid catalogue pieces: no base')
  if (newest.deltas + 1 !== accepted.length || newest.pieces.length !== pieces.length) {
    throw new InvalidCatalogueError('invalid catalogue pieces: they are not one chain')
  }
  return newest
}

/**
 * The newest chain among what holders returned (any mix of generations, strays, other
 * owners' pieces, incomplete sealings: all skipped); undefined when nothing opens.
 * CatalogueGapError when a complete sealing the owner signed claims a newer generation
 * than the newest chain that opens: a delta or base between is missing or withheld.
 */
export function newestChain (pieces: Uint8Array[], master: Uint8Array): CatalogueChain | undefined {
  const writer = catalogueWriter(master)
  const accepted = cataloguePieceCodec(master).openEditions(pieces).flatMap((edition) => accept(edition, writer, false) ?? [])
  const newest = chooseNewest(chainsOf(accepted))
  const claimed = Math.max(-1, ...accepted.map((a) => a.edition.generation))
  if (claimed > (newest?.catalogue.generation ?? -1)) {
    throw new CatalogueGapError(`generation ${claimed} of the catalogue is signed by this owner but its chain does not open (a generation before it is missing or withheld); the newest that opens is ${newest?.catalogue.generation ?? 'none'}, which is not the current one`)
  }
  return newest
}

function accept (edition: Edition, writer: WriteKey, strict: boolean): Accepted | undefined {
  try {
    const document = signedDocumentOf(edition, writer)
    const read = decodeGenerationDocument(document)
    const generation = read.kind === 'base' ? read.catalogue.generation : read.delta.generation
    if (generation !== edition.generation) throw new InvalidCatalogueError('the catalogue generation differs from its pieces\'')
    if (read.kind === 'delta' && edition.sealed.length > MAX_DELTA_PIECES) throw new InvalidCatalogueError(`invalid catalogue: a delta has at most ${MAX_DELTA_PIECES} pieces, this one ${edition.sealed.length}`)
    return { ...read, edition, bytes: document.byteLength }
  } catch (err) {
    // a sealing of an invalid or unsigned document is no candidate (a buggy writer)
    if (strict) throw err
    return undefined
  }
}

/** Every state the accepted sealings open to: each base, and each delta reached from one through its parents. */
function chainsOf (accepted: Accepted[]): CatalogueChain[] {
  const children = new Map<string, Array<Accepted & { kind: 'delta' }>>()
  for (const a of accepted) {
    if (a.kind !== 'delta') continue
    const key = refKey(a.delta.parent)
    const list = children.get(key)
    if (list === undefined) children.set(key, [a])
    else list.push(a)
  }
  const out: CatalogueChain[] = []
  const follow = (chain: CatalogueChain): void => {
    out.push(chain)
    if (chain.deltas >= MAX_CHAIN_DELTAS) return
    for (const child of children.get(refKey(chain.tip)) ?? []) {
      // a delta counts only over the base it names: one that claims another base is refused
      if (refKey(child.delta.base) !== refKey(chain.base)) continue
      let catalogue: Catalogue
      try {
        catalogue = applyDelta(chain.catalogue, child.delta)
      } catch {
        continue
      }
      follow({
        catalogue,
        base: chain.base,
        tip: { generation: child.edition.generation, edition: child.edition.edition },
        deltas: chain.deltas + 1,
        deltaBytes: chain.deltaBytes + child.bytes,
        pieces: [...chain.pieces, ...child.edition.sealed]
      })
    }
  }
  for (const a of accepted) {
    if (a.kind !== 'base') continue
    const ref = { generation: a.edition.generation, edition: a.edition.edition }
    follow({ catalogue: a.catalogue, base: { ...ref, bytes: a.bytes }, tip: ref, deltas: 0, deltaBytes: 0, pieces: a.edition.sealed })
  }
  return out
}

/** The highest generation; among equal ones the latest updatedAt; then the smallest edition of the newest sealing. */
function chooseNewest (chains: CatalogueChain[]): CatalogueChain | undefined {
  let best: CatalogueChain | undefined
  for (const c of chains) {
    if (best === undefined) {
      best = c
      continue
    }
    const a = c.catalogue
    const b = best.catalogue
    if (a.generation > b.generation || (a.generation === b.generation && (a.updatedAt > b.updatedAt || (a.updatedAt === b.updatedAt && c.tip.edition < best.tip.edition)))) best = c
  }
  return best
}

function refKey (ref: GenerationRef): string {
  return `${ref.generation}:${ref.edition}`
}
