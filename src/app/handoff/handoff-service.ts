import { formatShortCode, newShortCode, parseShortCode, shortCodeScalar } from '../../domain/formats/short-code.ts'
import { BusyError } from '../../domain/protocol/federation-errors.ts'
import { InvalidInputError, throwIfAborted } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { Logger } from '../../ports/logger.ts'
import { OfferRefusedError, ShortCodeMismatchError, ShortCodeNotFoundError } from './handoff-errors.ts'
import { DEFAULT_OFFER_TTL_MS, MAX_OFFER_TTL_MS, type OfferBook } from './offer-book.ts'

/** Largest capability a short code hands over (a share code is well under 200 bytes). */
export const MAX_CAPABILITY_BYTES = 2048
/** Peers asked at once for a nameplate. */
export const PEERS_ASKED_AT_ONCE = 4
/** Peers asked at most for one redeem: bounds what impostors can try (protocol-spec/handoff.md). */
export const MAX_PEERS_ASKED = 32

/** What the receiver's side needs of one exchange with one peer (the /quloud/handoff/1.0.0 client). */
export interface HandoffExchange {
  /**
   * Runs the exchange with `peer` for nameplate and w; the capability bytes. Throws
   * ShortCodeNotFoundError (no such offer there), ShortCodeMismatchError (the
   * confirmation failed), BusyError, or a transport or protocol error.
   */
  redeem (peer: string, nameplate: number, w: bigint, options?: AbortOptions): Promise<Uint8Array>
}

export interface HandoffServiceInit {
  book: OfferBook
  exchange: HandoffExchange
  /** Peer ids to ask for a nameplate, most likely first; this node not among them. */
  candidates: (options?: AbortOptions) => Promise<string[]>
  log: Logger
  now?: () => number
}

export interface OfferResult {
  /** The short code to read out, `417-orbit-ladder-velvet`. */
  code: string
  expiresAt: number
}

/**
 * Short one-time codes: `offer` puts a capability on this node under a fresh code;
 * `redeem` finds the node that offers a code's nameplate among the federation peers
 * and obtains the capability from it over SPAKE2. The capability bytes are opaque here.
 */
export class HandoffService {
  private readonly init: HandoffServiceInit
  private readonly now: () => number

  constructor (init: HandoffServiceInit) {
    this.init = init
    this.now = init.now ?? Date.now
  }

  offer (capability: Uint8Array, options: { ttlMs?: number } = {}): OfferResult {
    if (!(capability instanceof Uint8Array) || capability.byteLength === 0) throw new InvalidInputError('a capability is non-empty bytes')
    if (capability.byteLength > MAX_CAPABILITY_BYTES) throw new OfferRefusedError(`a capability of ${capability.byteLength} bytes is over the ${MAX_CAPABILITY_BYTES}-byte limit`)
    const ttlMs = options.ttlMs ?? DEFAULT_OFFER_TTL_MS
    if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_OFFER_TTL_MS) throw new InvalidInputError(`an offer lasts up to ${MAX_OFFER_TTL_MS / 60_000} minutes`)
    const code = newShortCode(this.init.book.freeNameplate())
    const expiresAt = this.now() + ttlMs
    this.init.book.add({ nameplate: code.nameplate, w: shortCodeScalar(code), capability, expiresAt })
    return { code: formatShortCode(code), expiresAt }
  }

  /** Withdraws this node's offer of `code` before it is used; false if there was none. */
  withdraw (code: string): boolean {
    return this.init.book.withdraw(parseShortCode(code).nameplate)
  }

  /**
   * The capability the code's sharer offers. Asks the candidates a few at a time and
   * stops at the first whose confirmation verifies; a peer that answers for the
   * nameplate but fails confirmation (a wrong code, an impostor, another sharer's offer
   * under the same number) does not stop the search.
   */
  async redeem (text: string, options: AbortOptions = {}): Promise<Uint8Array> {
    const code = parseShortCode(text)
    const w = shortCodeScalar(code)
    const peers = (await this.init.candidates(options)).slice(0, MAX_PEERS_ASKED)
    throwIfAborted(options.signal)
    const failures: unknown[] = []
    const stop = new AbortController()
    const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal])
    let next = 0
    let found: Uint8Array | undefined
    const worker = async (): Promise<void> => {
      while (found === undefined && next < peers.length && !signal.aborted) {
        const peer = peers[next++]!
        try {
          found = await this.init.exchange.redeem(peer, code.nameplate, w, { signal })
          stop.abort()
        } catch (err) {
          if (found === undefined) failures.push(err)
          if (!(err instanceof ShortCodeNotFoundError)) this.init.log.debug(`handoff with ${peer}: ${(err as Error).message}`)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(PEERS_ASKED_AT_ONCE, peers.length) }, worker))
    if (found !== undefined) return found
    throwIfAborted(options.signal)
    const mismatch = failures.find((err) => err instanceof ShortCodeMismatchError)
    if (mismatch !== undefined) throw mismatch
    const busy = failures.find((err) => err instanceof BusyError)
    if (busy !== undefined) throw busy
    throw new ShortCodeNotFoundError(peers.length === 0
      ? 'no federation peer is known to ask for the code'
      : `none of the ${peers.length} peers asked offers number ${code.nameplate}: it expired, was used, or the number is wrong`)
  }
}
