import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { CatalogueEntry, CatalogueGroup } from '../../domain/formats/catalogue.ts'
import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { CHUNK_SIZE, positionedChunks } from '../../domain/formats/chunker.ts'
import { fileIdToString, newFileId } from '../../domain/formats/file-id.ts'
import { fileContentKeyFromRoot, fileRetrievalSecretFromRoot, fileRoot, manifestSecretFromRoot } from '../../domain/crypto/key-derivation.ts'
import { MANIFEST_VERSION, sealManifest, type Manifest, type ManifestChunk } from '../../domain/formats/manifest.ts'
import { OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import { choosePlacement } from '../../domain/membership/placement.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import { defineError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { FederationClient, StoredReceipt } from '../../ports/federation-client.ts'
import type { Logger } from '../../ports/logger.ts'
import { storePieces } from './federation-pieces.ts'
import { HolderChannel } from './holder-channel.ts'

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

/**
 * Streams one file into the federation: fixed-size chunks, sealed with the file's
 * content key, each sent to the same `replicas` holders chosen by free space, then the
 * file's sealed manifest to those holders. Holders that fail mid-way are dropped; a
 * chunk left with fewer holders than asked makes the file under-replicated, one left
 * with none fails the put.
 */
export async function putFile (deps: OwnerDeps, input: PutFileInput, options?: AbortOptions): Promise<PutFileResult> {
  const { federation, log } = deps
  const info = await stat(input.path)
  const fileId = newFileId()
  const root = fileRoot(deps.master, fileId)
  const cipher = new OwnerChunkCipher(fileContentKeyFromRoot(root), fileId)
  const commitment = commitmentToDecimal(poseidonCommitment(fileRetrievalSecretFromRoot(root)))

  const placement = choosePlacement(await federation.candidates(options), { replicas: input.replicas, neededBytes: info.size })
  const channels = new Map<string, HolderChannel>()
  const opened: HolderChannel[] = []
  await Promise.all(placement.holders.map(async (peer) => {
    try {
      const channel = await HolderChannel.open(peer, federation, options)
      opened.push(channel)
      channels.set(peer, channel)
    } catch (err) {
      log.warn(`cannot reach ${peer}: ${(err as Error).message}`)
    }
  }))
  if (channels.size === 0) throw new NoStorageNodesError(`no storage node is available for ${input.name}; is the node connected to its federation?`)

  const chunks: ManifestChunk[] = []
  const holders: string[][] = []
  const receipts: StoredReceipt[] = []
  const inFlight = new Set<Promise<void>>()
  let size = 0
  try {
    const source = createReadStream(input.path, { highWaterMark: CHUNK_SIZE, signal: options?.signal })
    for await (const { index, final, bytes } of positionedChunks(source)) {
      const sealed = cipher.seal(index, final, bytes)
      const chunkId = chunkIdOf(sealed)
      chunks[index] = { id: chunkId, size: bytes.byteLength }
      holders[index] = []
      size += bytes.byteLength
      const task = Promise.all([...channels].map(async ([peer, channel]) => {
        try {
          receipts.push(await channel.store({ chunkId, commitment, data: sealed }))
          holders[index]!.push(peer)
        } catch (err) {
          log.warn(`${peer} did not store chunk ${index} of ${input.name}: ${(err as Error).message}; no more chunks go there`)
          channels.delete(peer)
        }
      })).then(() => {
        if (holders[index]!.length === 0) throw new NoStorageNodesError(`no storage node kept chunk ${index} of ${input.name}`)
        input.onProgress?.(bytes.byteLength)
      })
      task.catch(() => {}) // awaited below
      inFlight.add(task)
      void task.finally(() => inFlight.delete(task)).catch(() => {})
      while (inFlight.size >= CHUNKS_IN_FLIGHT) await Promise.race(inFlight)
    }
    await Promise.all(inFlight)
  } finally {
    await Promise.allSettled(opened.map(async (c) => c.close()))
  }

  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    fileId: fileIdToString(fileId),
    revision: 1,
    name: input.name,
    kind: 'file',
    size,
    mode: info.mode & 0o7777,
    mtimeMs: Math.floor(info.mtimeMs),
    chunkSize: CHUNK_SIZE,
    chunks,
    holders,
    receipts
  }
  const alive = placement.holders.filter((peer) => chunks.length === 0 || holders.every((h) => h.includes(peer)))
  const manifestTargets = alive.length > 0 ? alive : placement.holders
  const placed = await storePieces(federation, manifestTargets, sealManifest(manifest, root), manifestSecretFromRoot(root), log, options)
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

