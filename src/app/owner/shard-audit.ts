import { randomInt } from 'node:crypto'
import { chunkIdMatches } from '../../domain/formats/chunk-id.ts'
import type { Manifest } from '../../domain/formats/manifest.ts'
import { ChunkIdMismatchError } from '../../domain/protocol/federation-errors.ts'
import { NotFoundError } from '../../errors.ts'
import type { Logger } from '../../ports/logger.ts'
import type { PeerSessions } from './peer-sessions.ts'

/** One audited piece: intact, gone or wrong (`failed`), or not asked because the holder did not answer. */
export interface AuditOutcome {
  peer: string
  /** The piece's flat index in the manifest. */
  index: number
  verdict: 'intact' | 'failed' | 'unreachable'
  reason?: string
}

/**
 * Audits each of `peers` on a random sample of up to `sample` of the pieces the
 * manifest says it holds, inside one proven read session per holder (an audit is a
 * read, and nothing is read without a proof of ownership). A piece is intact when the
 * holder returns bytes matching its id; a holder that answers "not found", or with other
 * bytes, has failed. Any other failure (no connection, busy) says nothing about the data
 * and is `unreachable`. Samples are drawn afresh every round, so a holder cannot know
 * which pieces it may drop.
 */
export async function auditHolders (manifest: Manifest, peers: readonly string[], secret: bigint, sessions: PeerSessions, sample: number, log: Logger): Promise<AuditOutcome[]> {
  const outcomes: AuditOutcome[] = []
  await Promise.all(peers.map(async (peer) => {
    const held = manifest.holders.flatMap((h, i) => h.includes(peer) ? [i] : [])
    for (const index of pick(held, sample)) {
      try {
        const id = manifest.chunks[index]!.id
        // checked again here: an audit's verdict must not depend on the session below having checked
        if (!chunkIdMatches(id, await sessions.get(peer, secret, id))) throw new ChunkIdMismatchError(`piece ${index} from ${peer} does not match its id`)
        outcomes.push({ peer, index, verdict: 'intact' })
      } catch (err) {
        const failed = err instanceof NotFoundError || err instanceof ChunkIdMismatchError
        outcomes.push({ peer, index, verdict: failed ? 'failed' : 'unreachable', reason: (err as Error).message })
        log.debug(`audit of piece ${index} of ${manifest.name} on ${peer}: ${(err as Error).message}`)
        // one failure is enough to judge a holder, and an unreachable one will not answer the rest
        break
      }
    }
  }))
  return outcomes
}

/** Up to `n` distinct items of `items`, uniformly. */
function pick<T> (items: readonly T[], n: number): T[] {
  const pool = [...items]
  for (let i = 0; i < Math.min(n, pool.length); i++) {
    const j = i + randomInt(pool.length - i)
    ;[pool[i], pool[j]] = [pool[j]!, pool[i]!]
  }
  return pool.slice(0, Math.min(n, pool.length))
}
