import { randomInt } from 'node:crypto'
import { HANDOFF_ATTEMPTS, MAX_NAMEPLATE } from '../../domain/formats/short-code.ts'
import { OfferRefusedError } from './handoff-errors.ts'

/** How long an offer is valid unless the sharer says otherwise. */
export const DEFAULT_OFFER_TTL_MS = 10 * 60_000
/** The longest validity a sharer may ask for: a short code is for minutes, not days. */
export const MAX_OFFER_TTL_MS = 60 * 60_000
/** Live offers one node keeps; a tenth of the nameplates, so a free one is quick to find. */
export const MAX_OFFERS = 100

export interface OfferBookInit {
  now?: () => number
  /** Wrong (or abandoned) attempts an offer survives; default HANDOFF_ATTEMPTS. */
  attempts?: number
  /** Picks a nameplate candidate in [0, n); injectable for tests. */
  random?: (n: number) => number
}

export interface NewOffer {
  nameplate: number
  /** The SPAKE2 scalar of the code's password; the password itself is not kept. */
  w: bigint
  capability: Uint8Array
  expiresAt: number
}

/** One started exchange against an offer: the handler settles it exactly once. */
export interface OfferAttempt {
  readonly nameplate: number
  readonly w: bigint
}

interface Offer extends NewOffer { attemptsLeft: number }

/**
 * The sharer's live offers, by nameplate. An offer is one-time (claimed once, then
 * gone), expires, and loses an attempt when an exchange starts against it (not when one
 * fails): SPAKE2 gives whoever runs an exchange one password guess, whether or not it
 * finishes, so an exchange the peer abandons counts as a wrong guess. When no attempt
 * is left and none is running the offer is burned.
 */
export class OfferBook {
  private readonly offers = new Map<number, Offer>()
  private readonly running = new Map<OfferAttempt, Offer>()
  private readonly now: () => number
  private readonly attempts: number
  private readonly random: (n: number) => number

  constructor (init: OfferBookInit = {}) {
    this.now = init.now ?? Date.now
    this.attempts = init.attempts ?? HANDOFF_ATTEMPTS
    this.random = init.random ?? randomInt
  }

  get size (): number {
    this.sweep()
    return this.offers.size
  }

  /** A nameplate no live offer uses, drawn at random so that two sharers rarely collide. */
  freeNameplate (): number {
    this.sweep()
    if (this.offers.size >= MAX_OFFERS) throw new OfferRefusedError(`${MAX_OFFERS} offers are live; wait for one to be used or to expire`)
    for (;;) {
      const nameplate = 1 + this.random(MAX_NAMEPLATE)
      if (!this.offers.has(nameplate)) return nameplate
    }
  }

  add (offer: NewOffer): void {
    this.sweep()
    if (this.offers.has(offer.nameplate)) throw new OfferRefusedError(`nameplate ${offer.nameplate} is taken`)
    if (this.offers.size >= MAX_OFFERS) throw new OfferRefusedError(`${MAX_OFFERS} offers are live`)
    this.offers.set(offer.nameplate, { ...offer, capability: Uint8Array.from(offer.capability), attemptsLeft: this.attempts })
  }

  /** Starts an exchange: one attempt is spent now. Undefined when no live offer has the nameplate. */
  begin (nameplate: number): OfferAttempt | undefined {
    this.sweep()
    const offer = this.offers.get(nameplate)
    if (offer === undefined || offer.attemptsLeft <= 0) return undefined
    offer.attemptsLeft -= 1
    const attempt: OfferAttempt = Object.freeze({ nameplate, w: offer.w })
    this.running.set(attempt, offer)
    return attempt
  }

  /**
   * The capability, once the peer proved the password: the offer is removed. Undefined
   * when it expired, was burned or was claimed by another exchange meanwhile.
   */
  claim (attempt: OfferAttempt): Uint8Array | undefined {
    const offer = this.running.get(attempt)
    this.running.delete(attempt)
    if (offer === undefined || this.offers.get(attempt.nameplate) !== offer || offer.expiresAt <= this.now()) return undefined
    this.offers.delete(attempt.nameplate)
    return offer.capability
  }

  /** Ends an exchange that did not claim (wrong password, peer gone): burns an offer with no attempt left. */
  fail (attempt: OfferAttempt): void {
    const offer = this.running.get(attempt)
    if (offer === undefined) return
    this.running.delete(attempt)
    if (offer.attemptsLeft <= 0 && this.offers.get(attempt.nameplate) === offer && !this.isRunning(offer)) this.offers.delete(attempt.nameplate)
  }

  /** Removes an offer before it is used (the sharer changed their mind). */
  withdraw (nameplate: number): boolean {
    return this.offers.delete(nameplate)
  }

  private isRunning (offer: Offer): boolean {
    for (const running of this.running.values()) if (running === offer) return true
    return false
  }

  private sweep (): void {
    const now = this.now()
    for (const [nameplate, offer] of this.offers) {
      if (offer.expiresAt <= now) this.offers.delete(nameplate)
    }
  }
}
