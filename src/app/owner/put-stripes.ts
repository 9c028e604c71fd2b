import { createReadStream } from 'node:fs'
import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { positionedChunks } from '../../domain/formats/chunker.ts'
import { contentKey } from '../../domain/crypto/key-derivation.ts'
import { AUDITED_MANIFEST_VERSION, type ManifestChunk } from '../../domain/formats/manifest.ts'
import { pieceRoot } from './piece-roots.ts'
import { OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import { chooseShardPlacement, ShardPlacementError } from '../../domain/membership/placement.ts'
import { checkScheme, formatScheme, shardIndex, shardSizeFor, shardsPerStripe, stripeBytes, stripeCount, type ErasureScheme } from '../../domain/formats/stripe-layout.ts'
import type { ErasureCodec } from '../../ports/erasure-codec.ts'
import { UnsupportedErasureSchemeError } from '../../domain/formats/stripe-errors.ts'
import type { StoredReceipt } from '../../ports/federation-client.ts'
import type { PeerSessions } from './peer-sessions.ts'
import { entryOf, manifestOf, NoStorageNodesError, sentPiece, storeManifest, type FileKeys, type OwnerDeps, type PutFileInput, type PutFileResult } from './put-file.ts'
import { placeAdopted, unitHash } from './put-resume.ts'
import type { SentPiece } from '../../ports/work-journal.ts'
import { fileIdToString, type FileId } from '../../domain/formats/file-id.ts'
import { TaskWindow } from './task-window.ts'

/**
 * Sealed bytes being sent at once, in whole stripes and at least two: each holder then
 * has a few shards on its stream, and memory stays near twice this (plain and sealed)
 * whatever the file size; a very wide stripe (24+6) goes two at a time.
 */
const BYTES_IN_FLIGHT = 24 * 1024 * 1024
/** Placements tried when chosen holders cannot be reached, before the put is given up. */
const PLACEMENT_ATTEMPTS = 3

/**
 * An erasure-coded put (stripe-layout.ts): plan one distinct, reachable holder per
 * shard slot before any byte is sent (ShardPlacementError when the federation cannot
 * give them); then stripe by stripe, code the parity, seal every shard at its flat
 * index and send shard j of every stripe to holder j; then the version 4 manifest (with a Merkle root per shard, for audits) to
 * every holder. A holder that fails mid-way loses its slot for the rest of the file
 * (the file is degraded, `underReplicated`; repairing it is the repair service's); a
 * stripe left with fewer than k stored shards fails the put.
 */
export async function putStripes (deps: OwnerDeps, sessions: PeerSessions, input: PutFileInput & { erasure: ErasureScheme }, fileId: FileId, file: FileKeys): Promise<PutFileResult> {
  const scheme = checkScheme(input.erasure)
  const codec = codecFor(deps.codec, scheme)
  const shardSize = shardSizeFor(input.size, scheme)
  const resumed = await resumedSlots(deps, sessions, input, scheme)
  const { holders: slots, underDiversified } = resumed ?? await placeShards(deps, sessions, input, scheme, shardSize)
  // with other slots than the cut put's, no stripe of it can be adopted: shard j of every stripe is on slot j
  const stored = await sendStripes(deps, codec, sessions, resumed === undefined ? { ...input, resume: undefined } : input, fileId, file, scheme, shardSize, slots)
  const manifest = manifestOf(input, fileId, file, { version: AUDITED_MANIFEST_VERSION, size: stored.size, chunkSize: shardSize, chunks: stored.chunks, holders: stored.holders, receipts: stored.receipts, erasure: scheme, roots: stored.roots })
  const alive = slots.filter((peer): peer is string => peer !== undefined)
  const placed = await storeManifest(deps, sessions, input, file, manifest, alive)
  const underReplicated = stored.lost > 0 || placed.holders.size < alive.length
  if (underReplicated) deps.log.warn(`${input.name} is degraded: ${stored.lost} of ${formatScheme(scheme)} shard holders failed during the put`)
  return { entry: entryOf(input, fileId, manifest, placed), holders: [...new Set([...stored.holders.flat(), ...placed.holders.keys()])], underReplicated, underDiversified, pieces: stored.chunks.map((c) => c.id) }
}

function codecFor (codec: ErasureCodec | undefined, scheme: ErasureScheme): ErasureCodec {
  if (codec === undefined) throw new UnsupportedErasureSchemeError('this node has no erasure codec')
  if (scheme.data > codec.limits.maxData || scheme.parity > codec.limits.maxParity) {
    throw new UnsupportedErasureSchemeError(`${formatScheme(scheme)} is beyond this node's codec: at most ${codec.limits.maxData} data and ${codec.limits.maxParity} parity shards`)
  }
  return codec
}

/** One reachable holder per shard slot, distinct, within the subnet caps; chosen again without the unreachable ones. */
async function placeShards (deps: OwnerDeps, sessions: PeerSessions, input: PutFileInput, scheme: ErasureScheme, shardSize: number): Promise<{ holders: Array<string | undefined>, underDiversified: boolean }> {
  const candidates = await deps.federation.candidates({ signal: sessions.signal })
  const neededBytes = Math.max(1, stripeCount(input.size, scheme, shardSize)) * shardSize
  const unreachable = new Set<string>()
  for (let attempt = 0; attempt < PLACEMENT_ATTEMPTS; attempt++) {
    const { holders, underDiversified } = chooseShardPlacement(candidates, { shards: shardsPerStripe(scheme), parity: scheme.parity, neededBytes, exclude: unreachable, policy: deps.placement })
    await Promise.all(holders.map(async (peer) => {
      await sessions.connect(peer).catch((err) => {
        unreachable.add(peer)
        deps.log.warn(`cannot reach ${peer}: ${(err as Error).message}`)
      })
    }))
    if (holders.every((peer) => !unreachable.has(peer))) return { holders, underDiversified }
  }
  throw new ShardPlacementError(`${formatScheme(scheme)} for ${input.name}: ${unreachable.size} chosen storage node(s) could not be reached in ${PLACEMENT_ATTEMPTS} placements`)
}

/**
 * The slots of a resumed file, when its cut put journaled one holder per slot and every
 * one answers now; else nothing (the file is placed afresh and its stripes sent again).
 */
async function resumedSlots (deps: OwnerDeps, sessions: PeerSessions, input: PutFileInput, scheme: ErasureScheme): Promise<{ holders: Array<string | undefined>, underDiversified: boolean } | undefined> {
  const slots = input.resume?.slots(shardsPerStripe(scheme))
  if (slots === undefined) return undefined
  const reached = await Promise.all(slots.map(async (peer) => sessions.connect(peer).then(() => true, (err) => {
    deps.log.info(`${input.name}: its earlier holder ${peer} cannot be reached (${(err as Error).message}); the file is sent again in full`)
    return false
  })))
  return reached.every(Boolean) ? { holders: [...slots], underDiversified: false } : undefined
}

interface StoredStripes {
  chunks: ManifestChunk[]
  holders: string[][]
  /** Per shard, the Merkle root of its sealed bytes (piece-roots.ts), for audits. */
  roots: string[]
  receipts: StoredReceipt[]
  size: number
  /** Slots whose holder failed during the put. */
  lost: number
}

async function sendStripes (deps: OwnerDeps, codec: ErasureCodec, sessions: PeerSessions, input: PutFileInput, fileId: FileId, file: FileKeys,
  scheme: ErasureScheme, shardSize: number, slots: Array<string | undefined>): Promise<StoredStripes> {
  const cipher = new OwnerChunkCipher(contentKey(file.caps.read.readRoot), fileId)
  const { commitment, deleteCommitment } = file
  const n = shardsPerStripe(scheme)
  const whole = stripeBytes(scheme, shardSize)
  const stored: StoredStripes = { chunks: [], holders: [], roots: [], receipts: [], size: 0, lost: 0 }
  const window = new TaskWindow(Math.max(2, Math.floor(BYTES_IN_FLIGHT / (n * shardSize))))
  const source = createReadStream(input.path, { highWaterMark: Math.min(whole, 1024 * 1024), signal: sessions.signal })
  const fileName = fileIdToString(fileId)
  const { journal, contentHashKey: unitKey } = input
  try {
    for await (const { index: stripe, final, bytes } of positionedChunks(source, { chunkSize: whole })) {
      stored.size += bytes.byteLength
      const adopted = input.resume?.adopt(stripe, bytes, 1)
      if (adopted !== undefined && adopted.pieces.length === n) {
        // acknowledged before the daemon died, on these very slots: named again, not coded, sealed nor sent again
        await window.add(placeAdopted(stored, fileName, adopted, journal).then(() => input.onProgress?.(bytes.byteLength)))
        continue
      }
      const hash = unitKey === undefined || journal === undefined ? undefined : unitHash(unitKey, fileName, stripe, bytes)
      const data = bytes.byteLength === whole ? bytes : padded(bytes, whole)
      const parity = await codec.encode(scheme, data, { signal: sessions.signal })
      const sealed = Array.from({ length: n }, (_, j) => {
        const plain = j < scheme.data ? data.subarray(j * shardSize, (j + 1) * shardSize) : parity.subarray((j - scheme.data) * shardSize, (j - scheme.data + 1) * shardSize)
        const at = shardIndex(scheme, stripe, j)
        const shard = cipher.seal(at, final && j === n - 1, plain)
        stored.chunks[at] = { id: chunkIdOf(shard), size: shardSize }
        stored.roots[at] = pieceRoot(shard)
        stored.holders[at] = []
        return shard
      })
      await window.add(sendStripe(stripe, sealed, hash).then(() => input.onProgress?.(bytes.byteLength)))
    }
    await window.drain()
  } catch (err) {
    // the stripes already on their way settle first: no shard is stored after the put failed
    await window.settle()
    throw err
  }
  return stored

  async function sendStripe (stripe: number, sealed: Uint8Array[], hash: string | undefined): Promise<void> {
    let kept = 0
    const pieces: SentPiece[] = []
    await Promise.all(sealed.map(async (data, j) => {
      const peer = slots[j]
      if (peer === undefined) return
      const at = shardIndex(scheme, stripe, j)
      try {
        const receipt = await sessions.store(peer, { chunkId: stored.chunks[at]!.id, commitment, deleteCommitment, data })
        stored.receipts.push(receipt)
        stored.holders[at]!.push(peer)
        pieces[j] = sentPiece(at, stored.chunks[at]!, [peer], [receipt], stored.roots[at])
        kept++
      } catch (err) {
        if (slots[j] === peer) {
          slots[j] = undefined
          stored.lost++
          deps.log.warn(`${peer} did not store shard ${j} of stripe ${stripe} of ${input.name}: ${(err as Error).message}; its slot stays empty`)
        }
      }
    }))
    if (kept < scheme.data) throw new NoStorageNodesError(`only ${kept} of the ${n} shards of stripe ${stripe} of ${input.name} were stored; ${scheme.data} are needed to read it`)
    // a stripe short of a shard is journaled too; a re-run adopts only whole ones (CutFile.slots)
    if (hash !== undefined) await journal!.sent(fileName, stripe, hash, pieces.filter((p) => p !== undefined))
  }
}

/** The last stripe, zero-padded to a whole one: the manifest's size says where the file ends. */
function padded (bytes: Uint8Array, length: number): Uint8Array {
  const whole = new Uint8Array(length)
  whole.set(bytes)
  return whole
}
