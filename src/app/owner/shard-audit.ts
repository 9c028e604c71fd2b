import { randomInt } from 'node:crypto'
import { leafCount, verifyInclusion } from '../../domain/crypto/merkle-tree.ts'
import { chunkIdMatches } from '../../domain/formats/chunk-id.ts'
import { OWNER_CHUNK_OVERHEAD } from '../../domain/crypto/owner-layer.ts'
import type { Manifest } from '../../domain/formats/manifest.ts'
import { ChunkIdMismatchError, MalformedMessageError } from '../../domain/protocol/federation-errors.ts'
import { NotFoundError } from '../../errors.ts'
import type { Logger } from '../../ports/logger.ts'
import type { PeerSessions } from './peer-sessions.ts'
import { nodeSha256 } from './piece-roots.ts'

/** One audited piece: intact, gone or wrong (`failed`), or not asked because the holder did not answer. */
export interface AuditOutcome {
  peer: string
  /** The piece's flat index in the manifest. */
  index: number
  verdict: 'intact' | 'failed' | 'unreachable'
  reason?: string
  /** A failure because the holder said it has no record of the piece (not other bytes): an expired lease says so too. */
  notFound?: boolean
}

/** Leaves asked per audited piece: with 4 KiB leaves, a holder missing a tenth of a piece passes with p = 0.9^4 ≈ 0.66 per piece, per round. */
export const AUDIT_LEAVES = 4

/** An audit answer that proves the holder does not have the piece. */
class AuditFailure extends Error {}

/**
 * Audits each of `peers` on a random sample of up to `sample` of the pieces the
 * manifest says it holds, inside one proven read session per holder (an audit is a
 * read, and nothing is read without a proof of ownership). Where the manifest has a
 * Merkle root per piece (version 4), the holder is asked for AUDIT_LEAVES random leaves
 * with their inclusion paths, each checked against the root (a few KiB per piece);
 * otherwise, or when the holder's session cannot audit or refuses the request, the whole piece is read and
 * checked against its id. A holder that answers "not found", a wrong leaf or path, or
 * other bytes, has failed (`notFound` tells the first apart: the caller may know the
 * record's lease lapsed). Any other failure (no connection, busy) says nothing about
 * the data and is `unreachable`. Samples are drawn afresh every round, so a holder
 * cannot know which pieces or leaves it may drop.
 */
export async function auditHolders (manifest: Manifest, peers: readonly string[], secret: bigint, sessions: PeerSessions, sample: number, log: Logger): Promise<AuditOutcome[]> {
  const outcomes: AuditOutcome[] = []
  await Promise.all(peers.map(async (peer) => {
    const held = manifest.holders.flatMap((h, i) => h.includes(peer) ? [i] : [])
    for (const index of pick(held, sample)) {
      try {
        await auditPiece(manifest, index, peer, secret, sessions)
        outcomes.push({ peer, index, verdict: 'intact' })
      } catch (err) {
        const failed = err instanceof AuditFailure || err instanceof NotFoundError || err instanceof ChunkIdMismatchError
        outcomes.push({ peer, index, verdict: failed ? 'failed' : 'unreachable', reason: (err as Error).message, ...(err instanceof NotFoundError ? { notFound: true } : {}) })
        log.debug(`audit of piece ${index} of ${manifest.name} on ${peer}: ${(err as Error).message}`)
        // one failure is enough to judge a holder, and an unreachable one will not answer the rest
        break
      }
    }
  }))
  return outcomes
}

async function auditPiece (manifest: Manifest, index: number, peer: string, secret: bigint, sessions: PeerSessions): Promise<void> {
  const id = manifest.chunks[index]!.id
  const root = manifest.roots?.[index]
  if (root !== undefined) {
    // the owner knows the sealed size, so the holder's word on the leaf count is checked
    const count = leafCount(manifest.chunkSize + OWNER_CHUNK_OVERHEAD)
    const leaves = pick(Array.from({ length: count }, (_, i) => i), AUDIT_LEAVES)
    // a node of an earlier build refuses the request it does not know MALFORMED: it is
    // audited by reading the piece whole instead, which proves as much for more bytes
    const proof = await sessions.audit(peer, secret, id, leaves).catch((err: unknown) => {
      if (err instanceof MalformedMessageError) return undefined
      throw err
    })
    if (proof !== undefined) {
      if (proof.leafCount !== count) throw new AuditFailure(`piece ${index} from ${peer} has ${proof.leafCount} leaves, not ${count}`)
      const rootBytes = Buffer.from(root, 'hex')
      for (const leaf of proof.leaves) {
        if (!verifyInclusion(rootBytes, count, leaf.index, leaf.data, leaf.path, nodeSha256)) throw new AuditFailure(`leaf ${leaf.index} of piece ${index} from ${peer} is not in its Merkle tree`)
      }
      return
    }
  }
  // checked again here: an audit's verdict must not depend on the session below having checked
  if (!chunkIdMatches(id, await sessions.get(peer, secret, id))) throw new ChunkIdMismatchError(`piece ${index} from ${peer} does not match its id`)
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

