import { createReadStream } from 'node:fs'
import type { CatalogueEntry, CatalogueGroup } from '../../domain/formats/catalogue.ts'
import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { CHUNK_SIZE, positionedChunks } from '../../domain/formats/chunker.ts'
import { contentHasher } from '../../domain/formats/content-hash.ts'
import { fileIdToString, newFileId, type FileId } from '../../domain/formats/file-id.ts'
import { contentKey, manifestSecret, retrievalSecret } from '../../domain/crypto/key-derivation.ts'
import { ownerFileCapabilities, type OwnerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { lastSegment } from '../../domain/formats/relative-path.ts'
import { MANIFEST_VERSION, sealManifest, type Manifest, type ManifestChunk } from '../../domain/formats/manifest.ts'
import { OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import { choosePlacement, type Placement, type PlacementPolicy } from '../../domain/membership/placement.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import { defineError, InvalidInputError } from '../../errors.ts'
import { MAX_BATCHED_CHUNKS } from '../../domain/formats/catalogue.ts'
import type { FederationClient, StoredReceipt } from '../../ports/federation-client.ts'
import type { Logger } from '../../ports/logger.ts'
import { storePieces, type PiecePlacement } from './federation-pieces.ts'
import { PeerSessions, type SessionOptions } from './peer-sessions.ts'
import { putStripes } from './put-stripes.ts'
import { TaskWindow } from './task-window.ts'
import type { PieceCache } from '../../ports/piece-cache.ts'
import type { ErasureCodec } from '../../ports/erasure-codec.ts'
import type { ErasureScheme } from '../../domain/formats/stripe-layout.ts'
import type { Batch } from './batches.ts'
import type { OwnerJournal, PutJournal } from './work-in-flight.ts'
import { placeAdopted, unitHash, type CutFile } from './put-resume.ts'
import type { FileShape, SentPiece } from '../../ports/work-journal.ts'

/** No storage node could take the file: nothing usable was stored. */
export const NoStorageNodesError = defineError('NoStorageNodesError', 'no-storage-nodes')

export interface OwnerDeps {
  master: Uint8Array
  federation: FederationClient
  log: Logger
  /** Codes erasure-coded files; without one, only replicated files are put and read. */
  codec?: ErasureCodec | undefined
  /** Overrides of placement's spread caps and weights (the `placement*` settings). */
  placement?: Partial<PlacementPolicy> | undefined
  /** The journal of work in flight (work-in-flight.ts); without one nothing is journaled. */
  journal?: OwnerJournal | undefined
  /** Manifest pieces read before, kept across restarts (fetch-file.ts readManifest); without one every read proves. */
  manifestCache?: PieceCache | undefined
}

export interface PutFileInput {
  /** Absolute path of the file on this machine. */
  path: string
  /** Its name in the catalogue (a relative path). */
  name: string
  group?: CatalogueGroup
  /** Size, mode and mtime as the caller found them (expandInputs); the file is not stat'ed again. */
  size: number
  mode: number
  mtimeMs: number
  replicas: number
  /** When given, the file is erasure-coded with this scheme (put-stripes.ts) and `replicas` is ignored. */
  erasure?: ErasureScheme | undefined
  /** Called with the plaintext bytes of each chunk once every holder has answered. */
  onProgress?: (bytes: number) => void
  /**
   * The command's batch (batches.ts): a replicated file stores its records under the
   * batch's commitments, and its entry names its chunks. Ignored for erasure-coded files.
   */
  batch?: Batch | undefined
  /** The command's journal: each file and manifest is journaled before it is sent. */
  journal?: PutJournal | undefined
  /**
   * The owner's content-hash key (content-hash.ts): with it a replicated file's keyed
   * hash is taken from the bytes as they are chunked, so the file is read once, and it
   * is the hash of what was stored.
   */
  contentHashKey?: Uint8Array | undefined
  /**
   * A file outside a batch that a put cut by the daemon's death began sending
   * (put-resume.ts): the file keeps its id, and the units whose plaintext hashes as
   * journaled are adopted rather than sent again. Needs `contentHashKey`.
   */
  resume?: CutFile | undefined
}

export interface PutFileResult {
  entry: CatalogueEntry
  /** With `contentHashKey`, for a replicated file: the keyed hash of the bytes stored. */
  contentHash?: string
  holders: string[]
  underReplicated: boolean
  /** Its copies or shards share a relay's subnet or the no-public-address group beyond their share (placement.ts). */
  underDiversified: boolean
  /** Outside a batch: the ids of the data chunks (or shards) its manifest names. */
  pieces?: string[]
}

/** Chunks being sealed or sent at once: bounds memory to a few MiB whatever the file size. */
const CHUNKS_IN_FLIGHT = 4

/** What the pipeline stored: per chunk its id and size, the holders that kept it, and their receipts. */
interface StoredChunks {
  contentHash?: string
  chunks: ManifestChunk[]
  holders: string[][]
  receipts: StoredReceipt[]
  size: number
}

/**
 * Streams one file into the federation in three steps: plan (the same `replicas`
 * holders for every chunk, chosen by choosePlacement, and reached), pipeline (fixed-size
 * chunks sealed with the file's content key and sent to those holders, a few at once),
 * publish (the file's sealed manifest to the holders that kept every chunk). Holders
 * that fail mid-way are dropped; a chunk left with fewer holders than asked makes the
 * file under-replicated, one left with none fails the put. Streams come from the
 * operation's pool (`options.sessions`), so the files of one command share them.
 * With `input.erasure` the file is erasure-coded instead (put-stripes.ts).
 */
export async function putFile (deps: OwnerDeps, input: PutFileInput, options?: SessionOptions): Promise<PutFileResult> {
  return PeerSessions.using(deps.federation, options, async (sessions) => {
    const cut = input.contentHashKey === undefined ? undefined : input.resume
    const fileId = cut?.id ?? newFileId()
    const caps = ownerFileCapabilities(deps.master, fileId)
    const shape = resumableShape(input)
    await cut?.look(async (peer) => sessions.list(peer, retrievalSecret(caps.read.readRoot)), deps.log)
    if (input.erasure !== undefined) {
      // its shards are placed stripe by stripe: the journal names no holders, and every live peer is asked
      await input.journal?.file(fileIdToString(fileId), false, [], shape)
      await input.journal?.took(fileIdToString(fileId), cut?.ops ?? [])
      return settled(input, cut, await putStripes(deps, sessions, { ...input, erasure: input.erasure, resume: cut }, fileId, fileKeysOf(caps)))
    }
    const file = fileKeysOf(caps, input.batch)
    const { placement, reached } = await plan(deps, sessions, input, cut)
    await input.journal?.file(fileIdToString(fileId), file.batch !== undefined, placement.holders, file.batch === undefined ? shape : undefined)
    await input.journal?.took(fileIdToString(fileId), cut?.ops ?? [])
    const stored = await pipeline(deps.log, sessions, { ...input, resume: cut }, fileId, file, reached)
    return settled(input, cut, await publish(deps, sessions, input, fileId, file, placement, stored))
  })
}

/** What a re-run must match to adopt this file's units, when it is sent outside a batch with a hash key. */
function resumableShape (input: PutFileInput): FileShape | undefined {
  if (input.contentHashKey === undefined || (input.batch !== undefined && input.erasure === undefined)) return undefined
  return {
    size: input.size,
    mode: input.mode & 0o7777,
    mtimeMs: Math.floor(input.mtimeMs),
    ...(input.erasure === undefined ? { replicas: input.replicas } : { erasure: { data: input.erasure.data, parity: input.erasure.parity } })
  }
}

/**
 * A resumed file is published: what its cut put stored and this put did not adopt is
 * deleted in the background. That is what the journal names, and what each holder listed
 * under the file's read commitment beside it (CutFile.look: chunks acknowledged in the
 * instant the daemon died, never journaled); the file's id was kept, so nothing else is under it.
 */
async function settled (input: PutFileInput, cut: CutFile | undefined, result: PutFileResult): Promise<PutFileResult> {
  if (cut === undefined || input.journal === undefined) return result
  await input.journal.stale(cut.fileId, cut.stale(new Set([...(result.entry.manifest ?? []).map((r) => r.id), ...(result.pieces ?? [])])))
  return result
}

/** The journal's record of an acknowledged piece: at flat index `at`, with the receipts its holders gave. */
export function sentPiece (at: number, chunk: ManifestChunk, holders: string[], receipts: StoredReceipt[], root?: string): SentPiece {
  return { at, id: chunk.id, size: chunk.size, holders: [...holders], receipts: receipts.map((r) => [r.peerId, r.timeMs, r.signature]), ...(root === undefined ? {} : { root }) }
}

/** What the pipeline and the manifest need of a file's capabilities. */
export interface FileKeys {
  caps: OwnerFileCapabilities
  /** Read commitment of the data chunks. */
  commitment: string
  /** Delete commitment of every record of the file, chunks and manifest pieces alike. */
  deleteCommitment: string
  /** When the file is in a batch, whose commitments the two above are. */
  batch?: Batch
}

/** A file's keys: its own commitments, or, in a batch, the batch's. */
export function fileKeysOf (caps: OwnerFileCapabilities, batch?: Batch): FileKeys {
  if (batch !== undefined) return { caps, commitment: batch.commitment, deleteCommitment: batch.deleteCommitment, batch }
  return {
    caps,
    commitment: commitmentToDecimal(poseidonCommitment(retrievalSecret(caps.read.readRoot))),
    deleteCommitment: commitmentToDecimal(poseidonCommitment(caps.deleteSecret))
  }
}

async function plan (deps: OwnerDeps, sessions: PeerSessions, input: PutFileInput, cut?: CutFile): Promise<{ placement: Placement, reached: string[] }> {
  // a resumed file goes on where it was: its adopted chunks are on those holders
  const placement = cut !== undefined
    ? { holders: cut.holders, underReplicated: cut.holders.length < input.replicas, underDiversified: false }
    : choosePlacement(await sessions.candidates(), { replicas: input.replicas, neededBytes: input.size, policy: deps.placement })
  const unreachable = new Set<string>()
  await Promise.all(placement.holders.map(async (peer) => {
    await sessions.connect(peer).catch((err) => {
      unreachable.add(peer)
      deps.log.warn(`cannot reach ${peer}: ${(err as Error).message}`)
    })
  }))
  const reached = placement.holders.filter((peer) => !unreachable.has(peer))
  if (reached.length === 0) throw new NoStorageNodesError(`no storage node is available for ${input.name}; is the node connected to its federation?`)
  return { placement, reached }
}

async function pipeline (log: Logger, sessions: PeerSessions, input: PutFileInput, fileId: FileId, file: FileKeys, reached: string[]): Promise<StoredChunks> {
  const cipher = new OwnerChunkCipher(contentKey(file.caps.read.readRoot), fileId)
  const { commitment, deleteCommitment } = file
  const targets = new Set(reached)
  const stored: StoredChunks = { chunks: [], holders: [], receipts: [], size: 0 }
  const window = new TaskWindow(CHUNKS_IN_FLIGHT)
  // reads sized by the file: a 1 MiB buffer for each small file was most of a tree put's garbage
  const source = createReadStream(input.path, { highWaterMark: Math.min(CHUNK_SIZE, input.size + 1), signal: sessions.signal })
  const hasher = input.contentHashKey === undefined ? undefined : contentHasher(input.contentHashKey)
  // outside a batch, each acknowledged chunk is journaled for a resume after a crash (put-resume.ts)
  const unitKey = file.batch === undefined ? input.contentHashKey : undefined
  const journal = input.journal
  const fileName = fileIdToString(fileId)
  try {
    await sendChunks()
  } catch (err) {
    // the chunks already on their way settle first: none is stored after the put failed
    await window.settle()
    throw err
  }
  return stored

  async function sendChunks (): Promise<void> {
    for await (const { index, final, bytes } of positionedChunks(source, { expectedBytes: input.size })) {
      hasher?.update(bytes)
      stored.size += bytes.byteLength
      const adopted = input.resume?.adopt(index, bytes, input.replicas)
      if (adopted !== undefined) {
        // acknowledged before the daemon died: named again, not sealed nor sent again
        await window.add(placeAdopted(stored, fileName, adopted, journal).then(() => input.onProgress?.(bytes.byteLength)))
        continue
      }
      const sealed = cipher.seal(index, final, bytes)
      const chunkId = chunkIdOf(sealed)
      const chunk = stored.chunks[index] = { id: chunkId, size: bytes.byteLength }
      const holders: string[] = stored.holders[index] = []
      const receipts: StoredReceipt[] = []
      const hash = unitKey === undefined || journal === undefined ? undefined : unitHash(unitKey, fileName, index, bytes)
      await window.add(Promise.all([...targets].map(async (peer) => {
        try {
          receipts.push(await sessions.store(peer, { chunkId, commitment, deleteCommitment, data: sealed }))
          holders.push(peer)
        } catch (err) {
          log.warn(`${peer} did not store chunk ${index} of ${input.name}: ${(err as Error).message}; no more chunks go there`)
          targets.delete(peer)
        }
      })).then(async () => {
        if (holders.length === 0) throw new NoStorageNodesError(`no storage node kept chunk ${index} of ${input.name}`)
        stored.receipts.push(...receipts)
        if (hash !== undefined) await journal!.sent(fileName, index, hash, [sentPiece(index, chunk, holders, receipts)])
        input.onProgress?.(bytes.byteLength)
      }))
    }
    await window.drain()
    if (hasher !== undefined) stored.contentHash = hasher.digest()
  }
}

async function publish (deps: ManifestDeps, sessions: PeerSessions, input: PutFileInput, fileId: FileId, file: FileKeys, placement: Placement, stored: StoredChunks): Promise<PutFileResult> {
  const { log } = deps
  const { chunks, holders, receipts, size } = stored
  if (file.batch !== undefined) return publishBatched(log, input, fileId, file.batch, placement, stored)
  const manifest = manifestOf(input, fileId, file, { version: MANIFEST_VERSION, size, chunkSize: CHUNK_SIZE, chunks, holders, receipts })
  const alive = placement.holders.filter((peer) => chunks.length === 0 || holders.every((h) => h.includes(peer)))
  const placed = await storeManifest(deps, sessions, input, file, manifest, alive.length > 0 ? alive : placement.holders)
  const fileHolders = [...new Set(holders.flat().concat([...placed.holders.keys()]))]
  const copies = holders.reduce((least, h) => Math.min(least, h.length), placed.holders.size)
  const underReplicated = placement.underReplicated || copies < input.replicas
  if (underReplicated) log.warn(`${input.name} is under-replicated: asked for ${input.replicas} copies, got ${copies}`)
  return { entry: entryOf(input, fileId, manifest, placed), ...hashOf(stored), holders: fileHolders, underReplicated, underDiversified: placement.underDiversified, pieces: chunks.map((c) => c.id) }
}

/**
 * A batched file's entry names its chunks and their holders, which is all the owner
 * reads, deletes, renews and audits it by: it stores no manifest until it is shared
 * (batched-manifest.ts), so a small file costs one record per holder, not two.
 */
function publishBatched (log: Logger, input: PutFileInput, fileId: FileId, batch: Batch, placement: Placement, stored: StoredChunks): PutFileResult {
  const { chunks, holders } = stored
  // a batched file named its size before it was read: one that grew past a batched file's chunks cannot be named by its entry
  if (chunks.length > MAX_BATCHED_CHUNKS) throw new InvalidInputError(`${input.name} grew past ${MAX_BATCHED_CHUNKS} MiB while it was stored; put it again`)
  // an empty file has no chunk: it is kept by no holder and read from its entry alone
  const copies = chunks.length === 0 ? input.replicas : holders.reduce((least, h) => Math.min(least, h.length), Infinity)
  const underReplicated = placement.underReplicated || copies < input.replicas
  if (underReplicated) log.warn(`${input.name} is under-replicated: asked for ${input.replicas} copies, got ${copies}`)
  const entry: CatalogueEntry = {
    fileId: fileIdToString(fileId),
    name: input.name,
    kind: 'file',
    size: stored.size,
    mode: input.mode & 0o7777,
    mtimeMs: Math.floor(input.mtimeMs),
    ...(input.group === undefined ? {} : { group: input.group }),
    batch: batch.id,
    chunks: chunks.map((chunk, i) => ({ id: chunk.id, holders: [...holders[i]!] }))
  }
  return { entry, ...hashOf(stored), holders: [...new Set(holders.flat())], underReplicated, underDiversified: placement.underDiversified }
}

function hashOf (stored: StoredChunks): { contentHash?: string } {
  return stored.contentHash === undefined ? {} : { contentHash: stored.contentHash }
}

/** The file's manifest, revision 1, with what the pipeline stored (`layout`). */
export function manifestOf (input: PutFileInput, fileId: FileId, file: FileKeys, layout: Pick<Manifest, 'version' | 'size' | 'chunkSize' | 'chunks' | 'holders' | 'receipts' | 'erasure' | 'roots'>): Manifest {
  return {
    version: layout.version,
    fileId: fileIdToString(fileId),
    revision: 1,
    // the reader of a share learns the file's name, not where the owner keeps it
    name: lastSegment(input.name),
    kind: 'file',
    size: layout.size,
    mode: input.mode & 0o7777,
    mtimeMs: Math.floor(input.mtimeMs),
    chunkSize: layout.chunkSize,
    chunks: layout.chunks,
    holders: layout.holders,
    ...(layout.erasure === undefined ? {} : { erasure: layout.erasure }),
    ...(layout.roots === undefined ? {} : { roots: layout.roots }),
    deleteCommitment: file.deleteCommitment,
    writer: Buffer.from(file.caps.write.publicKey).toString('hex'),
    receipts: layout.receipts
  }
}

/** What storing a manifest needs of the owner: its log, and the cache the manifest's pieces go into. */
export type ManifestDeps = Pick<OwnerDeps, 'log' | 'manifestCache'>

/**
 * Seals `manifest` and stores its pieces on `targets`; NoStorageNodesError when none
 * kept them. The pieces also go into the manifest cache: the owner's own first read of
 * them (a lease, audit or repair round, a get) then costs no proof.
 */
export async function storeManifest (deps: ManifestDeps, sessions: PeerSessions, input: PutFileInput, file: FileKeys, manifest: Manifest, targets: string[]): Promise<PiecePlacement> {
  const { caps } = file
  const pieces = sealManifest(manifest, caps.read, caps.write)
  await input.journal?.manifest(manifest.fileId, pieces.map((piece) => chunkIdOf(piece)), { batch: file.batch?.id, holders: targets })
  const placed = await storePieces(sessions, targets, pieces, manifestSecret(caps.read.readRoot), file.deleteCommitment, deps.log)
  if (placed.holders.size === 0) throw new NoStorageNodesError(`no storage node kept the manifest of ${input.name}`)
  await deps.manifestCache?.put(pieces.map((piece, i) => [placed.ids[i]!, piece]))
    .catch((err: Error) => { deps.log.debug(`could not cache the manifest of ${input.name}: ${err.message}`) })
  return placed
}

/** The catalogue entry of a stored file: its attributes and where its manifest pieces are. */
export function entryOf (input: PutFileInput, fileId: FileId, manifest: Manifest, placed: PiecePlacement): CatalogueEntry {
  return {
    fileId: fileIdToString(fileId),
    name: input.name,
    kind: 'file',
    size: manifest.size,
    mode: manifest.mode,
    mtimeMs: manifest.mtimeMs,
    ...(input.group === undefined ? {} : { group: input.group }),
    manifest: placed.ids.map((id) => ({ id, holders: [...placed.holders.keys()] }))
  }
}
