import { open } from 'node:fs/promises'
import { ownerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { contentKey } from '../../domain/crypto/key-derivation.ts'
import { OWNER_CHUNK_OVERHEAD, OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import type { CatalogueEntry, CatalogueGroup } from '../../domain/formats/catalogue.ts'
import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { contentHashOf } from '../../domain/formats/content-hash.ts'
import { fileIdToString, newFileId } from '../../domain/formats/file-id.ts'
import { buildPack, PACK_MAX_BYTES, PACKED_CHUNK_MAX_BYTES, type PackRef } from '../../domain/formats/pack.ts'
import { choosePlacement } from '../../domain/membership/placement.ts'
import { InvalidInputError } from '../../errors.ts'
import type { Batch, BatchSlot } from './batches.ts'
import type { PeerSessions } from './peer-sessions.ts'
import { NoStorageNodesError, type OwnerDeps, type PutFileResult } from './put-file.ts'
import type { PutJournal } from './work-in-flight.ts'

/** The largest file a pack takes: its sealed chunk is at most PACKED_CHUNK_MAX_BYTES. */
export const PACKED_FILE_MAX_BYTES = PACKED_CHUNK_MAX_BYTES - OWNER_CHUNK_OVERHEAD

/** Packs being stored at once: with the one being filled, what a put of small files holds in memory. */
const PACKS_IN_FLIGHT = 4

export interface PackedFileInput {
  path: string
  name: string
  group?: CatalogueGroup | undefined
  size: number
  mode: number
  mtimeMs: number
  /** Its bytes, when the caller read them already (readSmallFile). */
  bytes?: Uint8Array | undefined
  onProgress?: (bytes: number) => void
}

/** A file sealed and waiting in the pack being filled. */
interface Waiting {
  input: PackedFileInput
  fileId: string
  chunkId: string
  sealed: Uint8Array
  size: number
  contentHash: string
  settle: { resolve: (result: PutFileResult) => void, reject: (err: unknown) => void }
}

/**
 * Puts the small files of one batch in packs (docs/small-file-packs.md): each file is
 * read and sealed as a batched file's one chunk is, then laid in the pack being filled;
 * a full pack (or the last, at `flush`) is placed and stored like one chunk of the
 * batch, and each of its files then has its entry. A holder stores, records and signs
 * one chunk for up to fifty files. A pack of one file is stored as that file's chunk
 * alone. Every file of a pack is journaled with the pack's holders before the pack is
 * sent, as a batched file is, so a cut put's pack is found and undone by listing the
 * batch (work-in-flight.ts); once its pack is stored, each file is journaled as stored whole, and a re-run adopts it.
 */
export class PackWriter {
  private readonly deps: OwnerDeps
  private readonly sessions: PeerSessions
  private readonly batch: Batch
  private readonly journal: PutJournal | undefined
  private readonly replicas: number
  private readonly hashKey: Uint8Array
  private filling: Waiting[] = []
  private fillingBytes = 0
  private readonly storing = new Set<Promise<void>>()

  constructor (deps: OwnerDeps, sessions: PeerSessions, init: { batch: Batch, journal?: PutJournal | undefined, replicas: number, contentHashKey: Uint8Array }) {
    this.deps = deps
    this.sessions = sessions
    this.batch = init.batch
    this.journal = init.journal
    this.replicas = init.replicas
    this.hashKey = init.contentHashKey
  }

  /**
   * Reads and seals `input` into the pack being filled; resolves once it is there
   * (after a full pack was sent, if it had to wait for room), to the file's result,
   * which settles when its pack is stored.
   */
  async add (input: PackedFileInput): Promise<{ stored: Promise<PutFileResult> }> {
    const bytes = input.bytes ?? await readSmallFile(input)
    const id = newFileId()
    const cipher = new OwnerChunkCipher(contentKey(ownerFileCapabilities(this.deps.master, id).read.readRoot), id)
    const sealed = cipher.seal(0, true, bytes)
    let settle!: Waiting['settle']
    const stored = new Promise<PutFileResult>((resolve, reject) => { settle = { resolve, reject } })
    // the command awaits it after its window: until then a failure must not go unhandled
    stored.catch(() => {})
    // others add while a full pack waits for room to be sent: look again after each wait
    while (this.fillingBytes + sealed.byteLength > PACK_MAX_BYTES) await this.send()
    this.filling.push({ input, fileId: fileIdToString(id), chunkId: chunkIdOf(sealed), sealed, size: bytes.byteLength, contentHash: contentHashOf(this.hashKey, bytes), settle })
    this.fillingBytes += sealed.byteLength
    return { stored }
  }

  /** Sends the pack being filled and resolves once every pack sent is stored or failed. */
  async flush (): Promise<void> {
    if (this.filling.length > 0) await this.send()
    await Promise.allSettled([...this.storing])
  }

  /** The command failed: the pack being filled is not sent (its files fail), and those on their way settle. */
  async abandon (err: unknown): Promise<void> {
    const files = this.filling
    this.filling = []
    this.fillingBytes = 0
    for (const f of files) f.settle.reject(err)
    await Promise.allSettled([...this.storing])
  }

  /** Starts storing the pack being filled, once fewer than PACKS_IN_FLIGHT are on their way. */
  private async send (): Promise<void> {
    const files = this.filling
    if (files.length === 0) return
    this.filling = []
    this.fillingBytes = 0
    while (this.storing.size >= PACKS_IN_FLIGHT) await Promise.race(this.storing)
    const storing = this.store(files).then(
      (results) => files.forEach((f, i) => f.settle.resolve(results[i]!)),
      (err) => files.forEach((f) => f.settle.reject(err))
    )
    this.storing.add(storing)
    void storing.finally(() => this.storing.delete(storing))
  }

  private async store (files: Waiting[]): Promise<PutFileResult[]> {
    const lone = files.length === 1
    const pack = lone ? undefined : buildPack(files.map((f) => f.sealed))
    const chunkId = pack?.id ?? files[0]!.chunkId
    const data = pack?.bytes ?? files[0]!.sealed
    const placement = choosePlacement(await this.sessions.candidates(), { replicas: this.replicas, neededBytes: data.byteLength, policy: this.deps.placement })
    if (placement.holders.length === 0) throw new NoStorageNodesError(`no storage node is available for ${files[0]!.input.name}; is the node connected to its federation?`)
    // at once, so the journal writes them together (file-work-journal.ts)
    await Promise.all(files.map(async (f) => this.journal?.file(f.fileId, true, placement.holders)))
    const holders: string[] = []
    await Promise.all(placement.holders.map(async (peer) => {
      try {
        await this.sessions.store(peer, { chunkId, commitment: this.batch.commitment, deleteCommitment: this.batch.deleteCommitment, data })
        holders.push(peer)
      } catch (err) {
        this.deps.log.warn(`${peer} did not store a pack of ${files.length} file(s) (${files[0]!.input.name} first): ${(err as Error).message}`)
      }
    }))
    if (holders.length === 0) throw new NoStorageNodesError(`no storage node kept the pack of ${files[0]!.input.name} and ${files.length - 1} other file(s)`)
    const underReplicated = placement.underReplicated || holders.length < this.replicas
    if (underReplicated) this.deps.log.warn(`a pack of ${files.length} file(s) is under-replicated: asked for ${this.replicas} copies, got ${holders.length}`)
    return files.map((f, i) => {
      f.input.onProgress?.(f.size)
      return {
        entry: entryOf(f, this.batch, holders, pack?.refs[i]),
        contentHash: f.contentHash,
        holders: [...holders],
        underReplicated,
        underDiversified: placement.underDiversified
      }
    })
  }
}

function entryOf (f: Waiting, batch: Batch, holders: string[], pack: PackRef | undefined): CatalogueEntry {
  return {
    fileId: f.fileId,
    name: f.input.name,
    kind: 'file',
    size: f.size,
    mode: f.input.mode & 0o7777,
    mtimeMs: Math.floor(f.input.mtimeMs),
    ...(f.input.group === undefined ? {} : { group: f.input.group }),
    batch: batch.id,
    chunks: [{ id: f.chunkId, holders: [...holders], ...(pack === undefined ? {} : { pack }) }]
  }
}

/**
 * The bytes of a file found at most PACKED_FILE_MAX_BYTES long, read whole into a
 * buffer of its size (one of the largest size for each small file was most of a tree
 * put's garbage); a file that grew past that since is refused, as a batched file that
 * grew past its chunks is.
 */
export async function readSmallFile (input: Pick<PackedFileInput, 'path' | 'name' | 'size'>): Promise<Uint8Array> {
  const handle = await open(input.path, 'r')
  try {
    let buffer = new Uint8Array(input.size + 1)
    let length = 0
    for (;;) {
      if (length === buffer.byteLength) {
        if (length > PACKED_FILE_MAX_BYTES) throw new InvalidInputError(`${input.name} grew past ${PACKED_FILE_MAX_BYTES} bytes while it was stored; put it again`)
        const grown = new Uint8Array(Math.min(PACKED_FILE_MAX_BYTES + 1, 2 * buffer.byteLength))
        grown.set(buffer)
        buffer = grown
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.byteLength - length, length)
      if (bytesRead === 0) break
      length += bytesRead
      // a regular file reads short only at its end: the size found, read in one short read, is the whole file
      if (length === input.size && length < buffer.byteLength) break
    }
    return buffer.subarray(0, length)
  } finally {
    await handle.close()
  }
}

/** The command's pack writers, one per batch and copy count: a pack is stored under one batch's commitments, on one placement. */
export class PackWriters {
  private readonly writers = new Map<string, PackWriter>()
  private readonly deps: OwnerDeps
  private readonly sessions: PeerSessions
  private readonly hashKey: Uint8Array

  constructor (deps: OwnerDeps, sessions: PeerSessions, hashKey: Uint8Array) {
    this.deps = deps
    this.sessions = sessions
    this.hashKey = hashKey
  }

  writerFor (slot: BatchSlot, replicas: number): PackWriter {
    const key = `${slot.batch.id} ${replicas}`
    let writer = this.writers.get(key)
    if (writer === undefined) {
      writer = new PackWriter(this.deps, this.sessions, { batch: slot.batch, journal: slot.journal, replicas, contentHashKey: this.hashKey })
      this.writers.set(key, writer)
    }
    return writer
  }

  async flush (): Promise<void> {
    for (const writer of this.writers.values()) await writer.flush()
  }

  async abandon (err: unknown): Promise<void> {
    for (const writer of this.writers.values()) await writer.abandon(err)
  }
}
