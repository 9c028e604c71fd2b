import { createReadStream } from 'node:fs'
import type { CatalogueEntry, CatalogueGroup } from '../../domain/formats/catalogue.ts'
import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { CHUNK_SIZE, positionedChunks } from '../../domain/formats/chunker.ts'
import { fileIdToString, newFileId, type FileId } from '../../domain/formats/file-id.ts'
import { contentKey, manifestSecret, retrievalSecret } from '../../domain/crypto/key-derivation.ts'
import { ownerFileCapabilities, type OwnerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { lastSegment } from '../../domain/formats/relative-path.ts'
import { MANIFEST_VERSION, sealManifest, type Manifest, type ManifestChunk } from '../../domain/formats/manifest.ts'
import { OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import { choosePlacement, type Placement } from '../../domain/membership/placement.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import { defineError } from '../../errors.ts'
import type { FederationClient, StoredReceipt } from '../../ports/federation-client.ts'
import type { Logger } from '../../ports/logger.ts'
import { storePieces } from './federation-pieces.ts'
import { PeerSessions, type SessionOptions } from './peer-sessions.ts'

/** No storage node could take the file: nothing usable was stored. */
export const NoStorageNodesError = defineError('NoStorageNodesError', 'no-storage-nodes')

export interface OwnerDeps {
  master: Uint8Array
  federation: FederationClient
  log: Logger
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
  /** Called with the plaintext bytes of each chunk once every holder has answered. */
  onProgress?: (bytes: number) => void
}

export interface PutFileResult {
  entry: CatalogueEntry
  holders: string[]
  underReplicated: boolean
}

/** Chunks being sealed or sent at once: bounds memory to a few MiB whatever the file size. */
const CHUNKS_IN_FLIGHT = 4

/** What the pipeline stored: per chunk its id and size, the holders that kept it, and their receipts. */
interface StoredChunks {
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
 */
export async function putFile (deps: OwnerDeps, input: PutFileInput, options?: SessionOptions): Promise<PutFileResult> {
  return PeerSessions.using(deps.federation, options, async (sessions) => {
    const fileId = newFileId()
    const file = fileKeysOf(ownerFileCapabilities(deps.master, fileId))
    const { placement, reached } = await plan(deps, sessions, input)
    const stored = await pipeline(deps.log, sessions, input, fileId, file, reached)
    return publish(deps.log, sessions, input, fileId, file, placement, stored)
  })
}

/** What the pipeline and the manifest need of a file's capabilities. */
interface FileKeys {
  caps: OwnerFileCapabilities
  /** Read commitment of the data chunks. */
  commitment: string
  /** Delete commitment of every record of the file, chunks and manifest pieces alike. */
  deleteCommitment: string
}

function fileKeysOf (caps: OwnerFileCapabilities): FileKeys {
  return {
    caps,
    commitment: commitmentToDecimal(poseidonCommitment(retrievalSecret(caps.read.readRoot))),
    deleteCommitment: commitmentToDecimal(poseidonCommitment(caps.deleteSecret))
  }
}

async function plan (deps: OwnerDeps, sessions: PeerSessions, input: PutFileInput): Promise<{ placement: Placement, reached: string[] }> {
  const placement = choosePlacement(await deps.federation.candidates({ signal: sessions.signal }), { replicas: input.replicas, neededBytes: input.size })
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
  const inFlight = new Set<Promise<void>>()
  const source = createReadStream(input.path, { highWaterMark: CHUNK_SIZE, signal: sessions.signal })
  try {
    await sendChunks()
  } catch (err) {
    // the chunks already on their way settle first: none is stored after the put failed
    await Promise.allSettled(inFlight)
    throw err
  }
  return stored

  async function sendChunks (): Promise<void> {
    for await (const { index, final, bytes } of positionedChunks(source)) {
      const sealed = cipher.seal(index, final, bytes)
      const chunkId = chunkIdOf(sealed)
      stored.chunks[index] = { id: chunkId, size: bytes.byteLength }
      const holders: string[] = stored.holders[index] = []
      stored.size += bytes.byteLength
      const task = Promise.all([...targets].map(async (peer) => {
        try {
          stored.receipts.push(await sessions.store(peer, { chunkId, commitment, deleteCommitment, data: sealed }))
          holders.push(peer)
        } catch (err) {
          log.warn(`${peer} did not store chunk ${index} of ${input.name}: ${(err as Error).message}; no more chunks go there`)
          targets.delete(peer)
        }
      })).then(() => {
        if (holders.length === 0) throw new NoStorageNodesError(`no storage node kept chunk ${index} of ${input.name}`)
        input.onProgress?.(bytes.byteLength)
      })
      task.catch(() => {}) // awaited below
      inFlight.add(task)
      void task.finally(() => inFlight.delete(task)).catch(() => {})
      while (inFlight.size >= CHUNKS_IN_FLIGHT) await Promise.race(inFlight)
    }
    await Promise.all(inFlight)
  }
}

async function publish (log: Logger, sessions: PeerSessions, input: PutFileInput, fileId: FileId, file: FileKeys, placement: Placement, stored: StoredChunks): Promise<PutFileResult> {
  const { caps } = file
  const { chunks, holders, receipts, size } = stored
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    fileId: fileIdToString(fileId),
    revision: 1,
    // the reader of a share learns the file's name, not where the owner keeps it
    name: lastSegment(input.name),
    kind: 'file',
    size,
    mode: input.mode & 0o7777,
    mtimeMs: Math.floor(input.mtimeMs),
    chunkSize: CHUNK_SIZE,
    chunks,
    holders,
    deleteCommitment: file.deleteCommitment,
    writer: Buffer.from(caps.write.publicKey).toString('hex'),
    receipts
  }
  const alive = placement.holders.filter((peer) => chunks.length === 0 || holders.every((h) => h.includes(peer)))
  const manifestTargets = alive.length > 0 ? alive : placement.holders
  const placed = await storePieces(sessions, manifestTargets, sealManifest(manifest, caps.read, caps.write), manifestSecret(caps.read.readRoot), file.deleteCommitment, log)
  if (placed.holders.size === 0) throw new NoStorageNodesError(`no storage node kept the manifest of ${input.name}`)

  const fileHolders = [...new Set(holders.flat().concat([...placed.holders.keys()]))]
  const copies = holders.reduce((least, h) => Math.min(least, h.length), placed.holders.size)
  const underReplicated = placement.underReplicated || copies < input.replicas
  if (underReplicated) log.warn(`${input.name} is under-replicated: asked for ${input.replicas} copies, got ${copies}`)
  return {
    entry: {
      fileId: fileIdToString(fileId),
      name: input.name,
      kind: 'file',
      size,
      mode: manifest.mode,
      mtimeMs: manifest.mtimeMs,
      ...(input.group === undefined ? {} : { group: input.group }),
      manifest: placed.ids.map((id) => ({ id, holders: [...placed.holders.keys()] }))
    },
    holders: fileHolders,
    underReplicated
  }
}
