import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { contentKey, retrievalSecret } from '../../domain/crypto/key-derivation.ts'
import { OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import type { Manifest } from '../../domain/formats/manifest.ts'
import { shardIndex, shardsPerStripe } from '../../domain/formats/stripe-layout.ts'
import type { Usable } from '../../domain/formats/manifest-health.ts'
import type { ErasureCodec } from '../../ports/erasure-codec.ts'
import type { Logger } from '../../ports/logger.ts'
import { gatherShards } from './fetch-stripes.ts'
import { inParallel } from './in-parallel.ts'
import type { PeerSessions } from './peer-sessions.ts'
import type { FileKeys } from './put-file.ts'
import type { RepairBudget } from './repair-budget.ts'
import { pieceRoot } from './piece-roots.ts'

/** Stripes rebuilt at once: with 1 MiB shards, (k + 1) MiB each in memory. */
const STRIPES_IN_FLIGHT = 4

export interface Rebuild {
  manifest: Manifest
  file: FileKeys
  /** Per slot to rebuild, its new holder (holding no other shard of the file). */
  targets: Map<number, string>
  usable: Usable
  codec: ErasureCodec
  sessions: PeerSessions
  budget: RepairBudget
  log: Logger
}

/** What a rebuild changed: the manifest to sign next, and what the old holders still keep. */
export interface Rebuilt {
  manifest: Manifest
  /** Per old holder, the ids of shards it held that are now elsewhere: deleted when it answers again. */
  replaced: Map<string, string[]>
  /** Shards stored on new holders. */
  shards: number
}

/**
 * Rebuilds, stripe by stripe, every shard of a target slot that has no usable holder:
 * k usable shards of the stripe are read (any k, as a get reads them, each checked
 * against its id and opened at its place), decoded, the parity coded again, and the
 * missing shards sealed afresh at their flat index and stored on the slot's new holder.
 * A stripe that cannot be read (fewer than k usable shards) is left as it is and
 * logged; the others are still repaired. Each stripe's bytes pass through `budget`.
 * Returns a copy of the manifest naming the new holders and ids (same revision: the
 * caller bumps it once, after every stripe).
 */
export async function rebuildShards (job: Rebuild): Promise<Rebuilt> {
  const { manifest, file, targets, usable, codec, sessions, budget, log } = job
  const scheme = manifest.erasure!
  const n = shardsPerStripe(scheme)
  const stripes = manifest.chunks.length / n
  const last = manifest.chunks.length - 1
  const fileId = parseFileId(manifest.fileId)
  const cipher = new OwnerChunkCipher(contentKey(file.caps.read.readRoot), fileId)
  const secret = retrievalSecret(file.caps.read.readRoot)
  // a rebuilt shard's root replaces the old one's; a version 3 manifest has none and stays 3
  const roots = manifest.roots === undefined ? undefined : [...manifest.roots]
  const next: Manifest = { ...manifest, chunks: manifest.chunks.map((c) => ({ ...c })), holders: manifest.holders.map((h) => [...h]), receipts: [...manifest.receipts], ...(roots === undefined ? {} : { roots }) }
  // the reader sees only usable holders: a shard is never read from where it is known gone
  const readable: Manifest = { ...manifest, holders: manifest.holders.map((h, at) => h.filter((p) => usable(p, at))) }
  const replaced = new Map<string, string[]>()
  let shards = 0
  const due = Array.from({ length: stripes }, (_, stripe) => stripe)
  // a few stripes at once, as a get reads them: one stripe's round trips would leave the codec idle
  await inParallel(due, STRIPES_IN_FLIGHT, async (stripe) => {
    const missing = [...targets.keys()].filter((j) => readable.holders[shardIndex(scheme, stripe, j)]!.length === 0)
    if (missing.length === 0) return
    // below k shards to read, the read fails: it would spend the budget and read what is
    // left of the stripe every round until a holder returns
    const left = Array.from({ length: n }, (_, j) => readable.holders[shardIndex(scheme, stripe, j)]!.length > 0).filter(Boolean).length
    if (left < scheme.data) {
      log.warn(`stripe ${stripe} of ${manifest.name} has ${left} usable shard(s) of the ${scheme.data} it needs: not rebuilt until a holder returns`)
      return
    }
    await budget.take(scheme.data * manifest.chunkSize + missing.length * manifest.chunkSize, sessions.signal)
    let data: Uint8Array
    let parity: Uint8Array
    try {
      const found = await gatherShards({ sessions, log, manifest: readable, cipher, secret, codec }, scheme, stripe, new Map())
      data = await codec.decode(scheme, found, { signal: sessions.signal })
      parity = await codec.encode(scheme, data, { signal: sessions.signal })
    } catch (err) {
      log.warn(`stripe ${stripe} of ${manifest.name} cannot be rebuilt now: ${(err as Error).message}`)
      return
    }
    const size = manifest.chunkSize
    await Promise.all(missing.map(async (j) => {
      const at = shardIndex(scheme, stripe, j)
      const plain = j < scheme.data ? data.subarray(j * size, (j + 1) * size) : parity.subarray((j - scheme.data) * size, (j - scheme.data + 1) * size)
      const sealed = cipher.seal(at, at === last, plain)
      const chunkId = chunkIdOf(sealed)
      const peer = targets.get(j)!
      try {
        const receipt = await sessions.store(peer, { chunkId, commitment: file.commitment, deleteCommitment: file.deleteCommitment, data: sealed })
        const old = manifest.chunks[at]!.id
        for (const holder of manifest.holders[at]!) replaced.set(holder, [...(replaced.get(holder) ?? []), old])
        next.chunks[at] = { id: chunkId, size }
        if (roots !== undefined) roots[at] = pieceRoot(sealed)
        next.holders[at] = [peer]
        next.receipts = next.receipts.filter((r) => r.chunkId !== old)
        next.receipts.push(receipt)
        shards++
      } catch (err) {
        log.warn(`${peer} did not take shard ${j} of stripe ${stripe} of ${manifest.name}: ${(err as Error).message}`)
      }
    }))
  })
  return { manifest: next, replaced, shards }
}
