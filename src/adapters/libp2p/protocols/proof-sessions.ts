import type { ProofAction } from '../../../domain/proofs/proof-context.ts'

const MAX_SESSIONS = 100_000

/**
 * Verified proof sessions: after one proof for (commitment, action) on a connection,
 * further requests under that commitment on the same connection need no new proof
 * until the session expires. Sessions are never shared across connections, so a
 * session cannot be used by a peer other than the one that proved.
 */
export class ProofSessions {
  private readonly sessions = new Map<string, number>()
  private readonly now: () => number

  constructor (now: () => number = Date.now) {
    this.now = now
  }

  open (connectionId: string, commitment: string, action: ProofAction, ttlMs: number): number {
    if (this.sessions.size >= MAX_SESSIONS) this.prune()
    const expiresAt = this.now() + ttlMs
    this.sessions.set(key(connectionId, commitment, action), expiresAt)
    return expiresAt
  }

  /** The session's expiry, or undefined when there is none or it has expired. */
  valid (connectionId: string, commitment: string, action: ProofAction): number | undefined {
    const k = key(connectionId, commitment, action)
    const expiresAt = this.sessions.get(k)
    if (expiresAt === undefined) return undefined
    if (expiresAt <= this.now()) {
      this.sessions.delete(k)
      return undefined
    }
    return expiresAt
  }

  /** Drops every session of a closed connection. */
  closeConnection (connectionId: string): void {
    for (const k of this.sessions.keys()) if (k.startsWith(connectionId + '|')) this.sessions.delete(k)
  }

  private prune (): void {
    const now = this.now()
    for (const [k, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(k)
    // still full of live sessions: the oldest go first (Map keeps insertion order)
    for (const k of this.sessions.keys()) {
      if (this.sessions.size < MAX_SESSIONS) break
      this.sessions.delete(k)
    }
  }
}

function key (connectionId: string, commitment: string, action: ProofAction): string {
  return `${connectionId}|${action}|${commitment}`
}
