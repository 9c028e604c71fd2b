import { open, rename, rm, utimes, chmod, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileIdToString, type FileId } from '../../domain/formats/file-id.ts'
import { fileContentKeyFromRoot, fileRetrievalSecretFromRoot, manifestSecretFromRoot } from '../../domain/crypto/key-derivation.ts'
import { newestManifest, type Manifest } from '../../domain/formats/manifest.ts'
import type { ManifestPieceRef } from '../../domain/formats/catalogue.ts'
import { OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import { defineError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { FederationClient, ProvenSession } from '../../ports/federation-client.ts'
import type { Logger } from '../../ports/logger.ts'
import { gatherPieces } from './federation-pieces.ts'

/** No reachable holder had the file's manifest or one of its chunks. */
export const FileUnavailableError = defineError('FileUnavailableError', 'file-unavailable')

export interface FetchFileInput {
  fileId: FileId
  /** The file root F (from the master secret, or from a share code). */
  root: Uint8Array
  /** Where the manifest is, when the catalogue says; else every known peer is asked. */
  manifest?: ManifestPieceRef[]
  /**
   * Path to write, or how to choose it once the manifest is known; written to a
   * temporary name first and renamed when complete.
   */
  output: string | ((manifest: Manifest) => Promise<string>)
  onProgress?: (bytes: number) => void
}

const CHUNKS_IN_FLIGHT = 8

/**
 * Restores one file: its manifest from the holders the catalogue names (or, for a
 * share, from whoever holds it), then every chunk from its holders in parallel,
 * trying the next holder when one fails. Each chunk's id is checked by the session
 * and its owner-layer AEAD by decryption, so a wrong byte never reaches the output.
 */
export async function fetchFile (federation: FederationClient, log: Logger, input: FetchFileInput, options?: AbortOptions): Promise<Manifest> {
  const manifest = await fetchManifest(federation, log, input, options)
  const cipher = new OwnerChunkCipher(fileContentKeyFromRoot(input.root), input.fileId)
  const secret = fileRetrievalSecretFromRoot(input.root)
  const sessions = new Map<string, Promise<ProvenSession>>()
  const session = async (peer: string): Promise<ProvenSession> => {
    let opened = sessions.get(peer)
    if (opened === undefined) {
      opened = federation.openSession(peer, { action: 'read', secret }, options)
      opened.catch(() => {})
      sessions.set(peer, opened)
    }
    return opened
  }

  const output = typeof input.output === 'string' ? input.output : await input.output(manifest)
  await mkdir(dirname(output), { recursive: true })
  const partial = `${output}.quloud-partial`
  const handle = await open(partial, 'w', 0o600)
  try {
    let next = 0
    await Promise.all(Array.from({ length: Math.min(CHUNKS_IN_FLIGHT, manifest.chunks.length) }, async () => {
      for (let index = next++; index < manifest.chunks.length; index = next++) {
        const chunk = manifest.chunks[index]!
        const holders = rotate(manifest.holders[index] ?? [], index)
        let plaintext: Uint8Array | undefined
        const failures: string[] = []
        for (const peer of holders) {
          try {
            const sealed = await (await session(peer)).get(chunk.id)
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
        await handle.write(plaintext, 0, plaintext.byteLength, index * manifest.chunkSize)
        input.onProgress?.(plaintext.byteLength)
      }
    }))
    await handle.truncate(manifest.size)
    await handle.sync()
  } catch (err) {
    await handle.close()
    await rm(partial, { force: true })
    throw err
  } finally {
    await Promise.allSettled([...sessions.values()].map(async (s) => (await s).close()))
  }
  await handle.close()
  await chmod(partial, manifest.mode & 0o777)
  await utimes(partial, new Date(), new Date(manifest.mtimeMs))
  await rename(partial, output)
  return manifest
}

async function fetchManifest (federation: FederationClient, log: Logger, input: FetchFileInput, options?: AbortOptions): Promise<Manifest> {
  const secret = manifestSecretFromRoot(input.root)
  const peers = input.manifest !== undefined
    ? [...new Set(input.manifest.flatMap((piece) => piece.holders))]
    : (await federation.candidates(options)).map((c) => c.peerId)
  const gathered = await gatherPieces(federation, peers, secret, log, options)
  const manifest = newestManifest(gathered.pieces, input.root, input.fileId)
  if (manifest === undefined) {
    throw new FileUnavailableError(`the manifest of file ${fileIdToString(input.fileId)} is on none of the ${peers.length} reachable peers`)
  }
  return manifest
}

/** Starts at a different holder for each chunk, spreading reads over all holders. */
function rotate<T> (items: T[], by: number): T[] {
  if (items.length === 0) return items
  const k = by % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

