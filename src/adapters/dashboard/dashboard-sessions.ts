import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A logged-in browser: its cookie value and the CSRF token its page sends back on every change. */
export interface DashboardSession {
  id: string
  csrf: string
  expiresAt: number
}

export interface DashboardSessionsInit {
  /** Idle milliseconds after which a session is gone (default 12 h). */
  sessionTtlMs?: number
  /** Milliseconds a one-time login link works (default 5 min). */
  linkTtlMs?: number
  /** Sessions kept at once; the oldest goes first (default 64). */
  maxSessions?: number
  /** Failed logins per minute before further attempts are refused for the rest of it (default 10). */
  maxFailuresPerMinute?: number
  now?: () => number
}

/**
 * The dashboard's logins, in memory only: a daemon restart logs everyone out, and no
 * session or link secret ever reaches the disk. Secrets are kept as SHA-256 digests and
 * compared in constant time, so neither a timing side channel nor a heap dump of the map
 * keys gives a usable cookie.
 */
export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>()
  private readonly links = new Map<string, number>()
  private readonly failures: number[] = []
  private readonly sessionTtlMs: number
  private readonly linkTtlMs: number
  private readonly maxSessions: number
  private readonly maxFailuresPerMinute: number
  private readonly now: () => number

  constructor (init: DashboardSessionsInit = {}) {
    this.sessionTtlMs = init.sessionTtlMs ?? 12 * 3600_000
    this.linkTtlMs = init.linkTtlMs ?? 5 * 60_000
    this.maxSessions = init.maxSessions ?? 64
    this.maxFailuresPerMinute = init.maxFailuresPerMinute ?? 10
    this.now = init.now ?? Date.now
  }

  /** A one-time login token: works once, until `expiresAt`. */
  issueLink (): { token: string, expiresAt: number } {
    this.sweep()
    const token = randomBytes(32).toString('base64url')
    const expiresAt = this.now() + this.linkTtlMs
    this.links.set(digest(token), expiresAt)
    return { token, expiresAt }
  }

  /** Spends a one-time token: true once for a live token, false for a spent, expired or unknown one. */
  redeemLink (token: string): boolean {
    const key = digest(token)
    const expiresAt = this.links.get(key)
    this.links.delete(key)
    return expiresAt !== undefined && expiresAt > this.now()
  }

  /** Whether a password or key attempt may be checked now (false while the minute's failures are used up). */
  mayTry (): boolean {
    const since = this.now() - 60_000
    while (this.failures.length > 0 && this.failures[0]! <= since) this.failures.shift()
    return this.failures.length < this.maxFailuresPerMinute
  }

  recordFailure (): void {
    this.failures.push(this.now())
  }

  open (): DashboardSession {
    this.sweep()
    while (this.sessions.size >= this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!)
    const session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url'), expiresAt: this.now() + this.sessionTtlMs }
    this.sessions.set(digest(session.id), session)
    return session
  }

  /** The live session a cookie names, its idle deadline pushed back; undefined otherwise. */
  find (id: string | undefined): DashboardSession | undefined {
    if (id === undefined) return undefined
    const session = this.sessions.get(digest(id))
    if (session === undefined) return undefined
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(digest(id))
      return undefined
    }
    session.expiresAt = this.now() + this.sessionTtlMs
    return session
  }

  close (id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(digest(id))
  }

  private sweep (): void {
    const now = this.now()
    for (const [key, expiresAt] of this.links) if (expiresAt <= now) this.links.delete(key)
    for (const [key, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(key)
  }
}

/** Constant-time equality of two secrets of any length (compared as digests). */
export function sameSecret (given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest())
}

function digest (secret: string): string {
  return createHash('sha256').update(secret).digest('base64url')
}
