import { chunkIdMatches } from '../../domain/formats/chunk-id.ts'
import type { Manifest } from '../../domain/formats/manifest.ts'
import type { Usable } from '../../domain/formats/manifest-health.ts'
import { ChunkIdMismatchError } from '../../domain/protocol/federation-errors.ts'
import type { Logger } from '../../ports/logger.ts'
import type { PeerSessions } from './peer-sessions.ts'
import type { FileKeys } from './put-file.ts'
import type { RepairBudget } from './repair-budget.ts'
import type { Rebuilt } from './rebuild-shards.ts'

/**
 * The holders of a replicated file (version 2) to replace: those whose copies are lost
 * (`lost`), and, when a chunk is down to its last healthy copy, every holder without a
 * usable one, since waiting for them risks the file.
 */
export function holdersToReplace (manifest: Manifest, usable: Usable, lost: Usable): Set<string> {
  const doomed = new Set<string>()
  manifest.holders.forEach((holders, i) => {
    const healthy = holders.filter((p) => usable(p, i)).length
    for (const p of holders) if (!usable(p, i) && (lost(p, i) || healthy <= 1)) doomed.add(p)
  })
  return doomed
}

export interface Copying {
  manifest: Manifest
  file: FileKeys
  secret: bigint
  /** Per holder replaced, its replacement (holding nothing of the file yet). */
  targets: Map<string, string>
  usable: Usable
  sessions: PeerSessions
  budget: RepairBudget
  log: Logger
}

/**
 * Copies every chunk a replaced holder kept from a usable holder to its replacement: the
 * sealed bytes as they are (same id, so nothing is sealed again), checked against their
 * id on the way. A chunk no usable holder answers for is left as it is and logged.
 */
export async function copyReplicas (job: Copying): Promise<Rebuilt> {
  const { manifest, file, secret, targets, usable, sessions, budget, log } = job
  const next: Manifest = { ...manifest, holders: manifest.holders.map((h) => [...h]), receipts: [...manifest.receipts] }
  const replaced = new Map<string, string[]>()
  let shards = 0
  for (let i = 0; i < manifest.chunks.length; i++) {
    const { id, size } = manifest.chunks[i]!
    const moving = manifest.holders[i]!.filter((p) => targets.has(p))
    if (moving.length === 0) continue
    const sources = manifest.holders[i]!.filter((p) => usable(p, i))
    // with no copy to read from, nothing would move: the budget is not spent on it
    if (sources.length > 0) await budget.take(size * (1 + moving.length), sessions.signal)
    let bytes: Uint8Array | undefined
    for (const from of sessions.inOrder(sources)) {
      try {
        const got = await sessions.get(from, secret, id)
        if (!chunkIdMatches(id, got)) throw new ChunkIdMismatchError(`chunk ${i} from ${from} does not match its id`)
        bytes = got
        break
      } catch (err) {
        log.debug(`chunk ${i} of ${manifest.name} from ${from}: ${(err as Error).message}`)
      }
    }
    if (bytes === undefined) {
      log.warn(`chunk ${i} of ${manifest.name} cannot be copied now: no usable holder answered`)
      continue
    }
    for (const old of moving) {
      const peer = targets.get(old)!
      try {
        const receipt = await sessions.store(peer, { chunkId: id, commitment: file.commitment, deleteCommitment: file.deleteCommitment, data: bytes })
        next.holders[i] = next.holders[i]!.map((p) => p === old ? peer : p)
        next.receipts = next.receipts.filter((r) => !(r.chunkId === id && r.peerId === old))
        next.receipts.push(receipt)
        replaced.set(old, [...(replaced.get(old) ?? []), id])
        shards++
      } catch (err) {
        log.warn(`${peer} did not take chunk ${i} of ${manifest.name}: ${(err as Error).message}`)
      }
    }
  }
  return { manifest: next, replaced, shards }
}
