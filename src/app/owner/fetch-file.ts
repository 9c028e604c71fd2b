import { fileIdToString, parseFileId, type FileId } from '../../domain/formats/file-id.ts'
import { contentKey, manifestSecret, retrievalSecret } from '../../domain/crypto/key-derivation.ts'
import type { ReadCapability } from '../../domain/capabilities/file-capabilities.ts'
import { newestManifest, sharedPieceCodec, type Manifest } from '../../domain/formats/manifest.ts'
import type { CatalogueEntry, ManifestPieceRef } from '../../domain/formats/catalogue.ts'
import { CHUNK_SIZE } from '../../domain/formats/chunker.ts'
import { InvalidInputError } from '../../errors.ts'
import type { BatchedRead } from './batches.ts'
import type { PackRef } from '../../domain/formats/pack.ts'
import { PackReads } from './pack-reads.ts'
import { OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import { defineError } from '../../errors.ts'
import type { FederationClient } from '../../ports/federation-client.ts'
import type { Logger } from '../../ports/logger.ts'
import { fetchKnownPieces, gatherPieces } from './federation-pieces.ts'
import { PartialFile } from './partial-file.ts'
import { PeerSessions, type SessionOptions } from './peer-sessions.ts'
import { fetchStripes, type WriteAt } from './fetch-stripes.ts'
import type { ErasureCodec } from '../../ports/erasure-codec.ts'
import type { PieceCache } from '../../ports/piece-cache.ts'
import { chunkIdMatches, chunkIdOf } from '../../domain/formats/chunk-id.ts'

/** No reachable holder had the file's manifest or one of its chunks. */
export const FileUnavailableError = defineError('FileUnavailableError', 'file-unavailable')

export interface FetchFileInput {
  /** The file's read capability (the owner's own, or a share code's). */
  read: ReadCapability
  /** The file the manifest must be of, when known (the owner's catalogue says). */
  fileId?: FileId
  /** Where the manifest is, when the catalogue says; else every known peer is asked. */
  manifest?: ManifestPieceRef[]
  /** The manifest itself, when the caller has read it already. */
  known?: Manifest
  /** Manifest pieces read before (the owner's data directory): with `manifest`, a cached manifest costs no proof. */
  cache?: PieceCache | undefined
  /**
   * Path to write; its directory exists
   * (the caller checked it: output-tree.ts). Written to a temporary name first and put
   * in place when complete (partial-file.ts).
   */
  output: string
  /** Replace what is at `output`; otherwise OutputExistsError if anything is. */
  replace?: boolean
  onProgress?: (bytes: number) => void
  /** Decodes erasure-coded files (version 3 manifests); without one only replicated files are read. */
  codec?: ErasureCodec | undefined
  /**
   * A batched file of the owner's catalogue (batches.ts): its chunks are read straight
   * under the batch's secret, with the attributes of `entry`, and no manifest is fetched.
   * Needs `fileId`. The batch's sessions stay open for the operation's other files.
   */
  batched?: BatchedRead
  /** With `batched`: what the catalogue says of the file. */
  entry?: Pick<CatalogueEntry, 'name' | 'size' | 'mode' | 'mtimeMs'>
}

/** What a get needs of a file: its manifest, or for a batched file what the catalogue holds. */
export type FileLayout = Pick<Manifest, 'fileId' | 'name' | 'size' | 'mode' | 'mtimeMs' | 'chunkSize' | 'chunks' | 'holders' | 'erasure' | 'dataSecret'>

const CHUNKS_IN_FLIGHT = 8

/**
 * Restores one file: its manifest from the first holder the catalogue names that has
 * it (or, for a share, from whoever holds it), then every chunk from its holders in
 * parallel, trying the next holder when one fails; a holder is proven to only when a
 * chunk is read from it. Each chunk's id is checked by the session and its owner-layer
 * AEAD by decryption, so a wrong byte never reaches the output. The file's sessions are
 * released when it is done; the operation's pool (`options.sessions`) is used if given.
 */
export async function fetchFile (federation: FederationClient, log: Logger, input: FetchFileInput & { batched?: undefined }, options?: SessionOptions): Promise<Manifest>
export async function fetchFile (federation: FederationClient, log: Logger, input: FetchFileInput, options?: SessionOptions): Promise<FileLayout>
export async function fetchFile (federation: FederationClient, log: Logger, input: FetchFileInput, options?: SessionOptions): Promise<FileLayout> {
  return PeerSessions.using(federation, options, async (sessions) => {
    if (input.batched !== undefined) return fetchWith(sessions, log, input, batchedLayout(input), input.batched.secret, packedOf(sessions, input.batched))
    const manifest = input.known ?? await readManifest(federation, sessions, log, input)
    if (manifest === undefined) {
      const what = input.fileId === undefined ? 'the shared file' : `file ${fileIdToString(input.fileId)}`
      const where = input.manifest === undefined
        ? 'any reachable peer (a revoked or expired share fetches nothing)'
        : 'any holder the catalogue names'
      throw new FileUnavailableError(`no manifest signed by the owner of ${what} is on ${where}`)
    }
    const secret = dataSecretOf(input.read, manifest)
    try {
      return await fetchWith(sessions, log, input, manifest, secret)
    } finally {
      // a batch's session serves the operation's other files of the batch
      if (manifest.dataSecret === undefined) await sessions.release(secret)
    }
  })
}

/** The retrieval secret of a file's data chunks: its batch's when the manifest names one, else its own. */
export function dataSecretOf (read: ReadCapability, manifest: Pick<Manifest, 'dataSecret'>): bigint {
  return manifest.dataSecret === undefined ? retrievalSecret(read.readRoot) : BigInt(manifest.dataSecret)
}

/** A batched file's layout from the owner's signed catalogue: chunks of CHUNK_SIZE, as its manifest has them. */
function batchedLayout (input: FetchFileInput): FileLayout {
  if (input.fileId === undefined || input.entry === undefined) throw new InvalidInputError('a batched read names its file and entry')
  const { chunks } = input.batched!
  const { name, size, mode, mtimeMs } = input.entry
  return {
    fileId: fileIdToString(input.fileId),
    name,
    size,
    mode,
    mtimeMs,
    chunkSize: CHUNK_SIZE,
    chunks: chunks.map((c, i) => ({ id: c.id, size: Math.min(CHUNK_SIZE, size - i * CHUNK_SIZE) })),
    holders: chunks.map((c) => c.holders)
  }
}

/** Where a batched file's chunks are in packs, and the operation's pack reads; undefined when none is packed. */
interface Packed {
  reads: PackReads
  refs: Array<PackRef | undefined>
}

function packedOf (sessions: PeerSessions, batched: BatchedRead): Packed | undefined {
  if (!batched.chunks.some((c) => c.pack !== undefined)) return undefined
  // a caller without an operation-wide reader reads each pack for this file alone
  return { reads: batched.packs ?? new PackReads(sessions), refs: batched.chunks.map((c) => c.pack) }
}

async function fetchWith<L extends FileLayout> (sessions: PeerSessions, log: Logger, input: FetchFileInput, manifest: L, secret: bigint, packed?: Packed): Promise<L> {
  // the file id comes from the signed manifest: a share code does not carry it
  const cipher = new OwnerChunkCipher(contentKey(input.read.readRoot), parseFileId(manifest.fileId))

  const output = input.output
  const out = await PartialFile.create(output)
  const handle = out.handle
  try {
    const write = async (bytes: Uint8Array, position: number): Promise<void> => {
      await handle.write(bytes, 0, bytes.byteLength, position)
      input.onProgress?.(bytes.byteLength)
    }
    if (manifest.erasure === undefined) await fetchChunks(sessions, log, manifest, cipher, secret, write, packed)
    // only a signed manifest has a scheme (a batched layout never does)
    else await fetchStripes({ sessions, log, manifest: manifest as FileLayout as Manifest, cipher, secret, codec: input.codec }, write)
    await handle.truncate(manifest.size)
    await handle.sync()
  } catch (err) {
    await out.discard()
    throw err
  }
  await out.complete({ size: manifest.size, mode: manifest.mode, mtimeMs: manifest.mtimeMs, replace: input.replace === true })
  return manifest
}

/**
 * The chunks of a replicated file (version 2), CHUNKS_IN_FLIGHT at once, each from the
 * first of its holders that answers with bytes that open at its place; `write` gets
 * each chunk's plaintext and offset. Every worker settles before a failure is thrown:
 * no read goes on after the get failed. A chunk in a pack (`packed`) is cut from its
 * pack, which the operation reads once for all its files.
 */
async function fetchChunks (sessions: PeerSessions, log: Logger, manifest: FileLayout, cipher: OwnerChunkCipher, secret: bigint, write: WriteAt, packed?: Packed): Promise<void> {
  let next = 0
  let failed = false
  const workers = await Promise.allSettled(Array.from({ length: Math.min(CHUNKS_IN_FLIGHT, manifest.chunks.length) }, async () => {
    for (let index = next++; !failed && index < manifest.chunks.length; index = next++) {
      const chunk = manifest.chunks[index]!
      const holders = sessions.inOrder(rotate(manifest.holders[index] ?? [], index))
      let plaintext: Uint8Array | undefined
      const failures: string[] = []
      const pack = packed?.refs[index]
      if (pack !== undefined) {
        try {
          plaintext = cipher.open(index, index === manifest.chunks.length - 1, await packed!.reads.slice(pack, chunk.id, holders, secret))
        } catch (err) {
          failures.push(`pack ${pack.id}: ${(err as Error).message}`)
          log.debug(`chunk ${index} of ${manifest.name} from pack ${pack.id} failed: ${(err as Error).message}`)
        }
      }
      for (const peer of pack === undefined ? holders : []) {
        try {
          const sealed = await sessions.get(peer, secret, chunk.id)
          plaintext = cipher.open(index, index === manifest.chunks.length - 1, sealed)
          break
        } catch (err) {
          failures.push(`${peer}: ${(err as Error).message}`)
          log.debug(`chunk ${index} of ${manifest.name} from ${peer} failed: ${(err as Error).message}`)
        }
      }
      if (plaintext === undefined) {
        throw new FileUnavailableError(`chunk ${index} of ${manifest.name} is on no reachable holder (${failures.join('; ') || 'no holders'})`)
      }
      await write(plaintext, index * manifest.chunkSize)
    }
  }).map(async (worker) => worker.catch((err) => { failed = true; throw err })))
  const failure = workers.find((w) => w.status === 'rejected')
  if (failure !== undefined) throw failure.reason
}

/**
 * The file's manifest: with the catalogue's piece refs, from the first holder that has
 * them; without (a share code names no holders), gathered from every known peer.
 */
export async function readManifest (federation: FederationClient, sessions: PeerSessions, log: Logger, input: Pick<FetchFileInput, 'fileId' | 'read' | 'manifest' | 'cache'>): Promise<Manifest | undefined> {
  const secret = manifestSecret(input.read.readRoot)
  const codec = sharedPieceCodec(input.read)
  try {
    if (input.manifest === undefined) {
      const { pieces } = await gatherPieces(sessions, (await federation.candidates({ signal: sessions.signal })).map((c) => c.peerId), secret, log, {
        keep: (piece) => codec.opens(piece)
      })
      return newestManifest(pieces, input.read, input.fileId)
    }
    const cached = await cachedPieces(input.cache, input.manifest, log)
    if (cached.size === input.manifest.length) {
      const manifest = newestManifest([...cached.values()], input.read, input.fileId)
      if (manifest !== undefined) return manifest
      cached.clear() // pieces that open to no manifest of this file: read them all from holders
    }
    const fetched = await fetchKnownPieces(sessions, input.manifest.filter((ref) => !cached.has(ref.id)), secret, log)
    const manifest = newestManifest([...cached.values(), ...fetched], input.read, input.fileId)
    if (manifest !== undefined && fetched.length > 0) {
      await input.cache?.put(fetched.map((piece) => [chunkIdOf(piece), piece]))
        .catch((err: Error) => { log.debug(`could not cache the manifest of ${manifest.name}: ${err.message}`) })
    }
    return manifest
  } finally {
    await sessions.release(secret)
  }
}

/** The pieces of `refs` the cache has whose bytes are the id they are kept under; nothing when it fails. */
async function cachedPieces (cache: PieceCache | undefined, refs: ManifestPieceRef[], log: Logger): Promise<Map<string, Uint8Array>> {
  if (cache === undefined) return new Map()
  try {
    const found = await cache.get(refs.map((ref) => ref.id))
    for (const [id, piece] of found) if (!chunkIdMatches(id, piece)) found.delete(id)
    return found
  } catch (err) {
    log.debug(`the manifest cache could not be read: ${(err as Error).message}`)
    return new Map()
  }
}

/** Starts at a different holder for each chunk, spreading reads over all holders. */
function rotate<T> (items: T[], by: number): T[] {
  if (items.length === 0) return items
  const k = by % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

