import { defineError } from '../../errors.ts'
import type { ChunkId } from './chunk-id.ts'
import { CHUNK_SIZE } from './chunker.ts'
import { fileIdToString, parseFileId, type FileId } from './file-id.ts'
import { manifestKey } from '../crypto/key-derivation.ts'
import { checkReadCapability, pinMatches, WRITER_KEY_BYTES, type ReadCapability, type WriteKey } from '../capabilities/file-capabilities.ts'
import { signBody } from '../capabilities/signed-body.ts'
import { openPinnedDocument } from '../capabilities/pinned-document.ts'
import { PeerTable, PeerTableReader } from './peer-table.ts'
import { relativePathProblem } from './relative-path.ts'
import { PieceCodec, type Edition } from './sealed-pieces.ts'
import { FieldReader } from './strict-fields.ts'
import { isValidShardSize, MAX_STRIPE_SHARDS, SHARD_ALIGNMENT, shardsPerStripe, stripeCount, type ErasureScheme } from './stripe-layout.ts'

/**
 * A file's manifest: everything needed to get the file back from the federation, and
 * nothing more than a holder of the file's read capability (owner or share-code
 * recipient) should learn: its name, not the owner's path. protocol-spec/manifests-and-catalogue.md
 * is normative; in short the encoded form is UTF-8 JSON with a peer table
 * (peer-table.ts) and chunk sizes left implicit (they follow from `size` and
 * `chunkSize`), signed by the file's write key (signed-body.ts) and stored as pieces
 * sealed with the manifest key (sealed-pieces.ts) under the manifest commitment.
 *
 * A reader accepts a manifest only when its signature verifies under the key it names
 * in `writer` and that key is the one the reader's capability pins: whoever can seal a
 * piece (every share-code holder can) still cannot make a revision the owner did not sign.
 */

export interface ManifestChunk {
  /** Id of the owner-layer ciphertext (chunk-id.ts). */
  id: ChunkId
  /** Plaintext bytes of the chunk: `chunkSize`, except the last (1..chunkSize). */
  size: number
}

/** A storage node's signed 'stored' receipt (receipt.ts) for the file's read and delete commitments. */
export interface ManifestReceipt {
  peerId: string
  chunkId: ChunkId
  timeMs: number
  /** Signature bytes, canonical padded base64. */
  signature: string
}

export interface Manifest {
  /** 2: whole chunks, each on its holders; 3: erasure-coded stripes (`erasure`). */
  version: 2 | 3
  /** 32 lowercase hex digits. */
  fileId: string
  /** 1 when first written, bumped when the manifest is rewritten; the highest signed one wins. */
  revision: number
  /** The file's name: one path segment (relative-path.ts), never the owner's directories. */
  name: string
  kind: 'file'
  size: number
  /** Permission bits, 0..0o7777. */
  mode: number
  mtimeMs: number
  /** Version 3: the shard size (every shard has this many plaintext bytes). */
  chunkSize: number
  /** Version 3: every shard, stripe by stripe, each stripe's k data shards then its m parity shards. */
  chunks: ManifestChunk[]
  /** Per chunk (shard) index, the peer ids holding it (distinct; empty when lost). */
  holders: string[][]
  /** Version 3 only: the scheme of every stripe. */
  erasure?: ErasureScheme
  /** Decimal commitment to the file's delete secret, as the receipts sign it. */
  deleteCommitment: string
  /** 64 lowercase hex digits: the Ed25519 public key that signs this file's manifests. */
  writer: string
  receipts: ManifestReceipt[]
}

/** The bytes or object are not a valid manifest, or pieces do not form one. */
export const InvalidManifestError = defineError('InvalidManifestError', 'invalid-manifest')
export type InvalidManifestError = InstanceType<typeof InvalidManifestError>

/** A manifest piece does not open under this file's manifest key. */
export const ManifestDecryptionError = defineError('ManifestDecryptionError', 'manifest-decryption')
export type ManifestDecryptionError = InstanceType<typeof ManifestDecryptionError>

/** The manifest does not carry a valid signature by the key the capability pins. */
export const ManifestSignatureError = defineError('ManifestSignatureError', 'manifest-signature')
export type ManifestSignatureError = InstanceType<typeof ManifestSignatureError>

export const MANIFEST_VERSION = 2
/**
 * Erasure-coded files (stripe-layout.ts). Their pieces are sealed as version 2's are
 * (the piece AAD keeps MANIFEST_VERSION): the signed body's `version` tells them apart.
 */
export const ERASURE_MANIFEST_VERSION = 3
/** 512 pieces of ~1 MiB; V8 strings stop near 512 MiB anyway. */
export const MAX_MANIFEST_PIECES = 512
export const MAX_HOLDERS_PER_CHUNK = 255
/** Ed25519 signatures are 64 bytes; room for RSA-4096. */
export const MAX_SIGNATURE_BYTES = 512

const MANIFEST_KEYS = ['version', 'fileId', 'revision', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'chunkSize', 'chunks', 'peers', 'holders', 'deleteCommitment', 'writer', 'receipts'] as const
const MANIFEST_V3_KEYS = ['version', 'fileId', 'revision', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'scheme', 'shardSize', 'stripes', 'peers', 'holders', 'deleteCommitment', 'writer', 'receipts'] as const
const PIECE_LABEL = 'quloud/v2/manifest-piece'
/** What the write key signs each piece of a manifest or tree listing under (sealed-pieces.ts). */
export const PIECE_SIGNATURE_LABEL = 'quloud/v2/shared-piece'
/** What the write key signs a manifest under (signed-body.ts). */
export const MANIFEST_SIGNATURE_LABEL = 'quloud/v2/manifest'
const fields = new FieldReader((reason) => new InvalidManifestError(`invalid manifest: ${reason}`))
const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The manifest as bytes; InvalidManifestError when it is not valid (encode never writes what decode refuses). */
export function encodeManifest (manifest: Manifest): Uint8Array {
  return utf8.encode(JSON.stringify(toWire(manifest)))
}

/** The manifest `bytes` encode, checked strictly; InvalidManifestError otherwise. */
export function decodeManifest (bytes: Uint8Array): Manifest {
  let wire: unknown
  try {
    wire = JSON.parse(strictUtf8.decode(bytes))
  } catch (err) {
    throw new InvalidManifestError('invalid manifest: not UTF-8 JSON', { cause: err })
  }
  return fromWire(wire)
}

/** `manifest` when it is valid, as a fresh copy; InvalidManifestError otherwise. */
export function validateManifest (manifest: Manifest): Manifest {
  return fromWire(toWire(manifest))
}

/**
 * The manifest signed with the file's write key and sealed into pieces (at least one)
 * under the capability's manifest key, ready to store. The manifest must name that key
 * as its `writer`.
 */
export function sealManifest (manifest: Manifest, read: ReadCapability, write: WriteKey, options?: { random?: (n: number) => Uint8Array }): Uint8Array[] {
  if (manifest.writer !== Buffer.from(write.publicKey).toString('hex')) throw new InvalidManifestError('invalid manifest: writer is not the signing key')
  if (!pinMatches(checkReadCapability(read).writerPin, write.publicKey)) throw new InvalidManifestError('invalid manifest: the capability pins another write key')
  const body = signBody(MANIFEST_SIGNATURE_LABEL, write, encodeManifest(manifest))
  return codecFor(read, write).seal(body, manifest.revision, options?.random)
}

/**
 * The manifest that `pieces` (one sealing, any order, repeats allowed) hold, signed by
 * the key `read` pins, and of file `fileId` when given. ManifestDecryptionError when a
 * piece does not open (another file, key or kind of value, tampered);
 * ManifestSignatureError when the signature does not verify or the key is not the
 * pinned one; InvalidManifestError when they are not one complete manifest of this file.
 */
export function openManifest (pieces: Uint8Array[], read: ReadCapability, fileId?: FileId): Manifest {
  return manifestOf(codecFor(read).openEdition(pieces), read, fileId)
}

/**
 * The newest signed manifest (highest revision) among `pieces` fetched from holders,
 * which may mix revisions and hold strays and forgeries; undefined when no complete,
 * validly signed manifest is there. Unsigned or wrongly signed editions never win,
 * whatever revision they claim.
 */
export function newestManifest (pieces: Uint8Array[], read: ReadCapability, fileId?: FileId): Manifest | undefined {
  let best: { manifest: Manifest, edition: string } | undefined
  for (const edition of codecFor(read).openEditions(pieces)) {
    let manifest: Manifest
    try {
      manifest = manifestOf(edition, read, fileId)
    } catch {
      continue
    }
    // equal revisions: the same manifest sealed twice; the smallest edition, as for catalogues
    if (best === undefined || manifest.revision > best.manifest.revision ||
        (manifest.revision === best.manifest.revision && edition.edition < best.edition)) {
      best = { manifest, edition: edition.edition }
    }
  }
  return best?.manifest
}

/** The AAD of every manifest piece: version, label. The key is the file's own already. */
export function manifestPieceAad (): Uint8Array {
  return Uint8Array.from([MANIFEST_VERSION, ...utf8.encode(PIECE_LABEL), 0])
}

/**
 * The piece codec of everything stored under a read capability's manifest commitment:
 * a file's manifests, or a shared tree's listing (tree-listing.ts).
 */
export function sharedPieceCodec (read: ReadCapability, write?: WriteKey): PieceCodec {
  return codecFor(read, write)
}

/**
 * Pieces signed one by one by the pinned writer, so that a reader drops anyone else's
 * the moment they arrive (sealed-pieces.ts); `write` is needed to seal only.
 */
function codecFor (read: ReadCapability, write?: WriteKey): PieceCodec {
  return new PieceCodec({
    signature: {
      label: PIECE_SIGNATURE_LABEL,
      ...(write === undefined ? {} : { writer: write }),
      accept: (key) => pinMatches(read.writerPin, key),
      refuse: (reason) => new ManifestSignatureError(`refused: ${reason}`)
    },
    key: manifestKey(checkReadCapability(read).readRoot),
    aad: manifestPieceAad(),
    maxPieces: MAX_MANIFEST_PIECES,
    undecryptable: (reason, cause) => new ManifestDecryptionError(`a manifest piece does not open: ${reason}`, { cause }),
    invalid: (reason) => new InvalidManifestError(`invalid manifest pieces: ${reason}`)
  })
}

function manifestOf (edition: Edition, read: ReadCapability, fileId?: FileId): Manifest {
  const manifest = openPinnedDocument(edition.body, read, MANIFEST_SIGNATURE_LABEL, decodeManifest, (reason) => new ManifestSignatureError(`the manifest is refused: ${reason}`))
  if (fileId !== undefined && manifest.fileId !== fileIdToString(fileId)) throw new InvalidManifestError('the manifest is of another file')
  if (manifest.revision !== edition.generation) throw new InvalidManifestError('the manifest revision differs from its pieces\'')
  return manifest
}

/** The encoded object; checks the shape it walks, leaves every value rule to fromWire. */
function toWire (m: Manifest): Record<string, unknown> {
  const erasure = m.version === ERASURE_MANIFEST_VERSION
  const inMemory: string[] = MANIFEST_KEYS.filter((k) => k !== 'peers')
  const record = fields.object(m, 'manifest', erasure ? [...inMemory, 'erasure'] : inMemory)
  const chunks = fields.array(record.chunks, 'chunks').map((c, i) => fields.object(c, `chunks[${i}]`, ['id', 'size']))
  const table = new PeerTable()
  const holders = fields.array(record.holders, 'holders').map((list, i) =>
    fields.array(list, `holders[${i}]`, MAX_HOLDERS_PER_CHUNK).map((peer) => table.indexOf(peer as string)))
  const chunkIndex = new Map(chunks.map((c, i) => [c.id, i]))
  const receipts = fields.array(record.receipts, 'receipts').map((r, i) => {
    const receipt = fields.object(r, `receipts[${i}]`, ['peerId', 'chunkId', 'timeMs', 'signature'])
    const chunk = chunkIndex.get(receipt.chunkId)
    if (chunk === undefined) throw fields.fail(`receipts[${i}].chunkId`, 'is not a chunk of this manifest')
    return { peer: table.indexOf(receipt.peerId as string), chunk, timeMs: receipt.timeMs, signature: receipt.signature }
  })
  const head = { version: m.version, fileId: m.fileId, revision: m.revision, name: m.name, kind: m.kind, size: m.size, mode: m.mode, mtimeMs: m.mtimeMs }
  const tail = { deleteCommitment: m.deleteCommitment, writer: m.writer }
  let wire: Record<string, unknown>
  if (erasure) {
    const scheme = fields.object(record.erasure, 'erasure', ['data', 'parity'])
    const width = scheme.data as number
    const n = (scheme.data as number) + (scheme.parity as number)
    if (!Number.isSafeInteger(n) || n < 2 || width < 1) throw fields.fail('erasure', 'must be k+m with k, m >= 1')
    const byStripe = <T>(items: T[]): T[][] => Array.from({ length: Math.ceil(items.length / n) }, (_, s) => items.slice(s * n, (s + 1) * n))
    wire = {
      ...head, scheme: { data: scheme.data, parity: scheme.parity }, shardSize: m.chunkSize,
      stripes: byStripe(chunks.map((c) => c.id)), peers: table.peers, holders: byStripe(holders), ...tail,
      receipts: receipts.map((r) => [r.peer, Math.floor(r.chunk / n), r.chunk % n, r.timeMs, r.signature])
    }
  } else {
    wire = {
      ...head, chunkSize: m.chunkSize, chunks: chunks.map((c) => c.id), peers: table.peers, holders, ...tail,
      receipts: receipts.map((r) => [r.peer, r.chunk, r.timeMs, r.signature])
    }
  }
  // the sizes are implicit on the wire: check the given ones against what they must be
  const decoded = fromWire(wire)
  if (decoded.chunks.length !== chunks.length) throw fields.fail('chunks', `must be ${decoded.chunks.length}`)
  chunks.forEach((c, i) => {
    if (c.size !== decoded.chunks[i]!.size) throw fields.fail(`chunks[${i}].size`, `must be ${decoded.chunks[i]!.size}`)
  })
  return wire
}

/** What the two versions share: who the file is, its name and attributes. */
function headOf (w: Record<string, unknown>): Pick<Manifest, 'fileId' | 'revision' | 'name' | 'kind' | 'size' | 'mode' | 'mtimeMs'> {
  const fileId = fields.hex(w.fileId, 'fileId', 16)
  const revision = fields.integer(w.revision, 'revision')
  const nameProblem = relativePathProblem(w.name)
  if (nameProblem !== undefined) throw fields.fail('name', nameProblem)
  if ((w.name as string).includes('/')) throw fields.fail('name', 'is one path segment: a reader learns the file\'s name, not the owner\'s path')
  const name = w.name as string
  const kind = fields.literal(w.kind, 'kind', ['file'])
  const size = fields.integer(w.size, 'size')
  const mode = fields.integer(w.mode, 'mode', 0, 0o7777)
  const mtimeMs = fields.finite(w.mtimeMs, 'mtimeMs')
  return { fileId, revision, name, kind, size, mode, mtimeMs }
}

function fromWire (value: unknown): Manifest {
  const version = fields.literal(fields.object(value, 'manifest', ['version'], [...MANIFEST_KEYS, ...MANIFEST_V3_KEYS]).version, 'version', [MANIFEST_VERSION, ERASURE_MANIFEST_VERSION])
  return version === ERASURE_MANIFEST_VERSION ? fromWireV3(value) : fromWireV2(value)
}

function fromWireV2 (value: unknown): Manifest {
  const w = fields.object(value, 'manifest', MANIFEST_KEYS)
  const head = headOf(w)
  const { size } = head
  const chunkSize = fields.integer(w.chunkSize, 'chunkSize', 1, CHUNK_SIZE)

  const count = Math.ceil(size / chunkSize)
  const ids = fields.array(w.chunks, 'chunks', count)
  if (ids.length !== count) throw fields.fail('chunks', `a file of ${size} bytes in chunks of ${chunkSize} has ${count} chunks, not ${ids.length}`)
  const chunks = ids.map((id, i): ManifestChunk => ({
    id: fields.chunkId(id, `chunks[${i}]`),
    size: i < count - 1 ? chunkSize : size - (count - 1) * chunkSize
  }))
  const peers = new PeerTableReader(w.peers, fields, Number.MAX_SAFE_INTEGER)
  const holderLists = fields.array(w.holders, 'holders', count)
  if (holderLists.length !== count) throw fields.fail('holders', `must have one list per chunk (${count})`)
  const holders = holderLists.map((list, i) => peers.resolveList(list, `holders[${i}]`, MAX_HOLDERS_PER_CHUNK))
  const receipts = fields.array(w.receipts, 'receipts').map((r, i): ManifestReceipt => {
    const what = `receipts[${i}]`
    const tuple = fields.array(r, what, 4)
    if (tuple.length !== 4) throw fields.fail(what, 'must be [peer, chunk, timeMs, signature]')
    return receiptOf(peers, chunks[fields.integer(tuple[1], `${what}[1]`, 0, count - 1)]!, tuple[0], tuple[2], tuple[3], what, 2)
  })
  return { version: MANIFEST_VERSION, ...head, chunkSize, ...bodyOf(w, chunks, holders, receipts, peers) }
}

function fromWireV3 (value: unknown): Manifest {
  const w = fields.object(value, 'manifest', MANIFEST_V3_KEYS)
  const head = headOf(w)
  const raw = fields.object(w.scheme, 'scheme', ['data', 'parity'])
  const erasure = { data: fields.integer(raw.data, 'scheme.data', 1, MAX_STRIPE_SHARDS - 1), parity: fields.integer(raw.parity, 'scheme.parity', 1, MAX_STRIPE_SHARDS - 1) }
  if (erasure.data + erasure.parity > MAX_STRIPE_SHARDS) throw fields.fail('scheme', `has at most ${MAX_STRIPE_SHARDS} shards`)
  const shardSize = fields.integer(w.shardSize, 'shardSize', SHARD_ALIGNMENT, CHUNK_SIZE)
  if (!isValidShardSize(shardSize)) throw fields.fail('shardSize', `must be a multiple of ${SHARD_ALIGNMENT}`)
  const n = shardsPerStripe(erasure)
  const count = stripeCount(head.size, erasure, shardSize)

  const stripes = fields.array(w.stripes, 'stripes', count)
  if (stripes.length !== count) throw fields.fail('stripes', `a file of ${head.size} bytes in ${erasure.data} shards of ${shardSize} has ${count} stripes, not ${stripes.length}`)
  const chunks = stripes.flatMap((ids, s) => {
    const list = fields.array(ids, `stripes[${s}]`, n)
    if (list.length !== n) throw fields.fail(`stripes[${s}]`, `must name ${n} shards`)
    return list.map((id, j): ManifestChunk => ({ id: fields.chunkId(id, `stripes[${s}][${j}]`), size: shardSize }))
  })
  const peers = new PeerTableReader(w.peers, fields, Number.MAX_SAFE_INTEGER)
  const holderStripes = fields.array(w.holders, 'holders', count)
  if (holderStripes.length !== count) throw fields.fail('holders', `must have one list per stripe (${count})`)
  const holders = holderStripes.flatMap((lists, s) => {
    const perShard = fields.array(lists, `holders[${s}]`, n)
    if (perShard.length !== n) throw fields.fail(`holders[${s}]`, `must have one list per shard (${n})`)
    return perShard.map((list, j) => peers.resolveList(list, `holders[${s}][${j}]`, MAX_HOLDERS_PER_CHUNK))
  })
  const receipts = fields.array(w.receipts, 'receipts').map((r, i): ManifestReceipt => {
    const what = `receipts[${i}]`
    const tuple = fields.array(r, what, 5)
    if (tuple.length !== 5) throw fields.fail(what, 'must be [peer, stripe, shard, timeMs, signature]')
    const stripe = fields.integer(tuple[1], `${what}[1]`, 0, count - 1)
    const shard = fields.integer(tuple[2], `${what}[2]`, 0, n - 1)
    return receiptOf(peers, chunks[stripe * n + shard]!, tuple[0], tuple[3], tuple[4], what, 3)
  })
  return { version: ERASURE_MANIFEST_VERSION, ...head, chunkSize: shardSize, erasure, ...bodyOf(w, chunks, holders, receipts, peers) }
}

function receiptOf (peers: PeerTableReader, chunk: ManifestChunk, peer: unknown, timeMs: unknown, signature: unknown, what: string, at: number): ManifestReceipt {
  return {
    peerId: peers.resolve(peer, `${what}[0]`),
    chunkId: chunk.id,
    timeMs: fields.integer(timeMs, `${what}[${at}]`),
    signature: fields.base64(signature, `${what}[${at + 1}]`, MAX_SIGNATURE_BYTES)
  }
}

/** The checks both versions end with: distinct ids, the commitments and signer, every peer used. */
function bodyOf (w: Record<string, unknown>, chunks: ManifestChunk[], holders: string[][], receipts: ManifestReceipt[], peers: PeerTableReader): Pick<Manifest, 'chunks' | 'holders' | 'deleteCommitment' | 'writer' | 'receipts'> {
  if (new Set(chunks.map((c) => c.id)).size !== chunks.length) throw fields.fail('chunks', 'must not repeat a chunk id')
  const deleteCommitment = fields.decimal(w.deleteCommitment, 'deleteCommitment')
  const writer = fields.hex(w.writer, 'writer', WRITER_KEY_BYTES)
  peers.assertAllUsed()
  return { chunks, holders, deleteCommitment, writer, receipts }
}
