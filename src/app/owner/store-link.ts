import { setTimeout as sleep } from 'node:timers/promises'
import { CapacityFullError, ChunkIdMismatchError, MalformedMessageError, QuotaExceededError } from '../../domain/protocol/federation-errors.ts'
import { AbortError, ClosedError, isErrorOf, TooLargeError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { FederationClient, StoreChannel, StoredReceipt, StoreChunkRequest } from '../../ports/federation-client.ts'

/** Refusals about the request itself: sending it again, anywhere, changes nothing. */
const FINAL = [QuotaExceededError, CapacityFullError, ChunkIdMismatchError, TooLargeError, MalformedMessageError, AbortError]

/** Whether an error is a refusal of the request itself rather than of the stream. */
export function isFinalRefusal (err: unknown): boolean {
  return isErrorOf(err, FINAL)
}

/** How often in a row a broken store stream to one holder is reopened before the holder is given up. */
export const MAX_REOPENS = 2
/**
 * The pause before the last reopen, when the reopened stream broke too: a back-off, so
 * that a transient state (a connection closing under a new one, a stream rate on the
 * holder) has a moment to pass before the holder is given up. In a NAT-lab CI run a put
 * lost its only holder with both reopens failing within 6 ms of the cut; what they met
 * is not known. A holder that is really gone costs this much more before it is dropped.
 */
export const REOPEN_PAUSE_MS = 250

/**
 * The store stream to one holder, kept for a whole operation and reopened when it
 * breaks: when a store fails for a reason other than a refusal of the request, the
 * stream is reopened (once for all the chunks that were in flight on it) and the chunk
 * sent again. Networks drop streams, and a node ends any stream after its maximum
 * lifetime, so a long put must not lose a holder to that; but a holder whose fresh
 * streams break MAX_REOPENS times in a row, with no store succeeding in between, is
 * given up (`broken`).
 */
export class StoreLink {
  readonly peer: string
  private readonly federation: FederationClient
  private readonly options: AbortOptions | undefined
  /** Ends a dial still under way when the link is closed (the operation's signal ends every one). */
  private readonly dials = new AbortController()
  private channel: Promise<StoreChannel>
  /** Whether `channel` is still being dialled. */
  private dialling = false
  private reopens = 0
  /** Set by `close`: a store failing after it is not sent again on a new stream. */
  private closed = false
  /** Set once the reopen budget is spent: the caller drops the link. */
  broken = false

  constructor (peer: string, federation: FederationClient, options: AbortOptions | undefined) {
    this.peer = peer
    this.federation = federation
    this.options = options
    this.channel = this.open()
  }

  /** Resolves once the first stream is open; rejects when the holder cannot be reached. */
  async opened (): Promise<void> {
    await this.channel
  }

  /** The stream being opened or open now: another one once a store has reopened it. */
  get current (): Promise<StoreChannel> {
    return this.channel
  }

  async store (chunk: StoreChunkRequest): Promise<StoredReceipt> {
    for (;;) {
      const current = this.channel
      try {
        const receipt = await (await current).store(chunk)
        if (this.channel === current) this.reopens = 0
        return receipt
      } catch (err) {
        if (this.options?.signal?.aborted === true || isFinalRefusal(err)) throw err
        if (this.closed) throw new ClosedError(`the store stream to ${this.peer} was closed`, { cause: err })
        if (this.channel === current) {
          if (this.reopens >= MAX_REOPENS) {
            this.broken = true
            throw err
          }
          this.reopens++
          void current.then(async (c) => c.close()).catch(() => {})
          this.channel = this.open(this.reopens > 1 ? REOPEN_PAUSE_MS : 0)
        }
      }
    }
  }

  /**
   * Closes the stream; a dial still under way is ended rather than waited for, so an
   * operation that opened a link it did not use (a holder that left meanwhile) is not held
   * up to the dial's timeout at its end.
   */
  async close (): Promise<void> {
    this.closed = true
    if (this.dialling) this.dials.abort(new ClosedError(`the store stream to ${this.peer} was closed while it was being opened`))
    await (await this.channel.catch(() => undefined))?.close().catch(() => {})
  }

  /** Dials a stream, after `pauseMs`; `close` or the operation's signal ends the pause too. */
  private open (pauseMs = 0): Promise<StoreChannel> {
    const signal = this.options?.signal === undefined ? this.dials.signal : AbortSignal.any([this.options.signal, this.dials.signal])
    const dial = async (): Promise<StoreChannel> => this.federation.openStore(this.peer, { ...this.options, signal })
    const channel = pauseMs === 0
      ? dial()
      : sleep(pauseMs, undefined, { signal }).then(dial, () => {
        if (this.dials.signal.aborted) throw new ClosedError(`the store stream to ${this.peer} was closed before it was reopened`, { cause: this.dials.signal.reason })
        throw new AbortError(`the store stream to ${this.peer} was not reopened: the operation ended`, { cause: this.options?.signal?.reason })
      })
    this.dialling = true
    const settled = (): void => { if (this.channel === channel) this.dialling = false }
    channel.then(settled, settled) // the rejection is awaited by store() and opened()
    return channel
  }
}
