import { defineError } from '../../errors.ts'
import { CHUNK_SIZE } from './chunker.ts'
import { WRITER_KEY_BYTES } from '../capabilities/file-capabilities.ts'
import type { Manifest, ManifestChunk, ManifestReceipt } from './manifest.ts'
import { PeerTable, PeerTableReader } from './peer-table.ts'
import { relativePathProblem } from './relative-path.ts'
import { FieldReader } from './strict-fields.ts'
import { isValidShardSize, MAX_STRIPE_SHARDS, SHARD_ALIGNMENT, shardsPerStripe, stripeCount } from './stripe-layout.ts'

/**
 * The JSON object of a manifest, both versions, and every value rule it must keep
 * (protocol-spec/manifests-and-catalogue.md): toWire writes nothing fromWire refuses.
 * manifest.ts turns it into bytes, signs and seals it.
 */

/** The bytes or object are not a valid manifest, or pieces do not form one. */
export const InvalidManifestError = defineError('InvalidManifestError', 'invalid-manifest')
export type InvalidManifestError = InstanceType<typeof InvalidManifestError>

export const MANIFEST_VERSION = 2
/**
 * Erasure-coded files (stripe-layout.ts). Their pieces are sealed as version 2's are
 * (the piece AAD keeps MANIFEST_VERSION): the signed body's `version` tells them apart.
 */
export const ERASURE_MANIFEST_VERSION = 3
/** Erasure-coded files with a Merkle root per shard, for audits (merkle-tree.ts); what writers write now. */
export const AUDITED_MANIFEST_VERSION = 4
export const MAX_HOLDERS_PER_CHUNK = 255
/** Ed25519 signatures are 64 bytes; room for RSA-4096. */
export const MAX_SIGNATURE_BYTES = 512

const MANIFEST_KEYS = ['version', 'fileId', 'revision', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'chunkSize', 'chunks', 'peers', 'holders', 'deleteCommitment', 'writer', 'receipts'] as const
const MANIFEST_V3_KEYS = ['version', 'fileId', 'revision', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'scheme', 'shardSize', 'stripes', 'peers', 'holders', 'deleteCommitment', 'writer', 'receipts'] as const
const MANIFEST_V4_KEYS = ['version', 'fileId', 'revision', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'scheme', 'shardSize', 'stripes', 'roots', 'peers', 'holders', 'deleteCommitment', 'writer', 'receipts'] as const
const ROOT_BYTES = 32
/** Optional in version 2: the data chunks' retrieval secret, for a file of a batch. */
const OPTIONAL_V2_KEYS = ['dataSecret'] as const
const fields = new FieldReader((reason) => new InvalidManifestError(`invalid manifest: ${reason}`))

/** The encoded object; checks the shape it walks, leaves every value rule to fromWire. */
export function toWire (m: Manifest): Record<string, unknown> {
  const erasure = m.version === ERASURE_MANIFEST_VERSION || m.version === AUDITED_MANIFEST_VERSION
  const inMemory: string[] = MANIFEST_KEYS.filter((k) => k !== 'peers')
  const record = fields.object(m, 'manifest', erasure ? [...inMemory, 'erasure', ...(m.version === AUDITED_MANIFEST_VERSION ? ['roots'] : [])] : inMemory, erasure ? [] : OPTIONAL_V2_KEYS)
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
    const roots = m.version === AUDITED_MANIFEST_VERSION ? { roots: byStripe(fields.array(record.roots, 'roots')) } : {}
    wire = {
      ...head, scheme: { data: scheme.data, parity: scheme.parity }, shardSize: m.chunkSize,
      stripes: byStripe(chunks.map((c) => c.id)), ...roots, peers: table.peers, holders: byStripe(holders), ...tail,
      receipts: receipts.map((r) => [r.peer, Math.floor(r.chunk / n), r.chunk % n, r.timeMs, r.signature])
    }
  } else {
    wire = {
      ...head, chunkSize: m.chunkSize, chunks: chunks.map((c) => c.id), peers: table.peers, holders, ...tail,
      receipts: receipts.map((r) => [r.peer, r.chunk, r.timeMs, r.signature]),
      ...(m.dataSecret === undefined ? {} : { dataSecret: m.dataSecret })
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

export function fromWire (value: unknown): Manifest {
  const version = fields.literal(fields.object(value, 'manifest', ['version'], [...MANIFEST_KEYS, ...MANIFEST_V4_KEYS, ...OPTIONAL_V2_KEYS]).version, 'version', [MANIFEST_VERSION, ERASURE_MANIFEST_VERSION, AUDITED_MANIFEST_VERSION])
  return version === MANIFEST_VERSION ? fromWireV2(value) : fromWireStripes(value, version)
}

function fromWireV2 (value: unknown): Manifest {
  const w = fields.object(value, 'manifest', MANIFEST_KEYS, OPTIONAL_V2_KEYS)
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
  const dataSecret = w.dataSecret === undefined ? {} : { dataSecret: fields.decimal(w.dataSecret, 'dataSecret') }
  return { version: MANIFEST_VERSION, ...head, chunkSize, ...bodyOf(w, chunks, holders, receipts, peers), ...dataSecret }
}

/** Versions 3 and 4: 4 is 3 with `roots`, one per shard, parallel to `stripes`. */
function fromWireStripes (value: unknown, version: 3 | 4): Manifest {
  const w = fields.object(value, 'manifest', version === AUDITED_MANIFEST_VERSION ? MANIFEST_V4_KEYS : MANIFEST_V3_KEYS)
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
  const roots = version === AUDITED_MANIFEST_VERSION ? rootsOf(w.roots, count, n) : undefined
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
  return { version, ...head, chunkSize: shardSize, erasure, ...bodyOf(w, chunks, holders, receipts, peers), ...(roots === undefined ? {} : { roots }) }
}

function rootsOf (value: unknown, count: number, n: number): string[] {
  const stripes = fields.array(value, 'roots', count)
  if (stripes.length !== count) throw fields.fail('roots', `must have one list per stripe (${count})`)
  return stripes.flatMap((list, s) => {
    const perShard = fields.array(list, `roots[${s}]`, n)
    if (perShard.length !== n) throw fields.fail(`roots[${s}]`, `must have one root per shard (${n})`)
    return perShard.map((root, j) => fields.hex(root, `roots[${s}][${j}]`, ROOT_BYTES))
  })
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
