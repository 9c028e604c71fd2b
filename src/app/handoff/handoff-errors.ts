import { defineError, NotFoundError } from '../../errors.ts'

// Failures of a short-code handoff (protocol-spec/handoff.md), as the receiver sees them.

/**
 * No peer asked holds a live offer under the code's nameplate: never made, expired,
 * already used or burned. A kind of NotFoundError, and sent as NOT_FOUND.
 */
export const ShortCodeNotFoundError = defineError('ShortCodeNotFoundError', 'short-code-not-found', NotFoundError)
export type ShortCodeNotFoundError = InstanceType<typeof ShortCodeNotFoundError>

/**
 * A node holds an offer under the nameplate but the words differ: the key confirmation
 * failed and nothing of the capability was sent. The offer lost one attempt.
 */
export const ShortCodeMismatchError = defineError('ShortCodeMismatchError', 'short-code-mismatch')
export type ShortCodeMismatchError = InstanceType<typeof ShortCodeMismatchError>

/** Every nameplate is taken by a live offer, or the capability is over the size limit. */
export const OfferRefusedError = defineError('OfferRefusedError', 'offer-refused')
export type OfferRefusedError = InstanceType<typeof OfferRefusedError>
