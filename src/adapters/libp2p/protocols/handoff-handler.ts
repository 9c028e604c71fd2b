import type { Connection, Startable, Stream } from '@libp2p/interface'
import type { OfferBook, OfferAttempt } from '../../../app/handoff/offer-book.ts'
import { checkSpake2Share, confirmationMatches, spake2Finish, spake2Start } from '../../../domain/crypto/spake2.ts'
import { checkNameplate } from '../../../domain/formats/short-code.ts'
import { MalformedMessageError, PeerTimeoutError } from '../../../domain/protocol/federation-errors.ts'
import { NotFoundError } from '../../../errors.ts'
import type { Logger } from '../../../ports/logger.ts'
import type { FramedStream } from '../wire/framed-stream.ts'
import { WIRE_ERROR_CODES, type WireError } from '../wire/messages.ts'
import {
  capabilityAad, capabilityEnvelope, HANDOFF_DEADLINE_MS, HANDOFF_IDLE_TIMEOUT_MS, HANDOFF_PROTOCOL, handoffParties,
  HandoffRequestCodec, HandoffResponseCodec, MAX_HANDOFF_FRAME_BYTES, REFUSAL_CODES
} from './handoff-messages.ts'
import type { PeerLimits } from './peer-limits.ts'
import { serveStream, type ProtocolHost } from './serve-stream.ts'

export interface HandoffHandlerInit {
  host: ProtocolHost
  book: OfferBook
  /** Streams per peer, shared with the node's other handlers or the handoff's own. */
  limits: PeerLimits
  /** Charged once per Hello: the per-peer handoff attempt rate. */
  attempts: PeerLimits
  log: Logger
  idleTimeoutMs?: number
  deadlineMs?: number
}

const WIRE_NAME_OF = new Map(Object.entries(WIRE_ERROR_CODES).map(([name, code]) => [code, name]))

/**
 * `/quloud/handoff/1.0.0` on the sharer's node (protocol-spec/handoff.md): Hello{nameplate,
 * pA} → Answer{pB, cB}; Confirm{cA} → Capability{sealed}. An attempt is spent before pB
 * goes out, and the capability leaves only after cA verified, sealed under Ke.
 */
export class HandoffHandler implements Startable {
  private readonly init: HandoffHandlerInit

  constructor (init: HandoffHandlerInit) {
    this.init = init
  }

  async start (): Promise<void> {
    await this.init.host.handle(HANDOFF_PROTOCOL, async (stream, connection) => this.onStream(stream, connection), { maxInboundStreams: 4 })
  }

  async stop (): Promise<void> {
    await this.init.host.unhandle(HANDOFF_PROTOCOL)
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    await serveStream(stream, connection, {
      limits: this.init.limits,
      log: this.init.log,
      idleTimeoutMs: this.init.idleTimeoutMs ?? HANDOFF_IDLE_TIMEOUT_MS,
      maxFrameBytes: MAX_HANDOFF_FRAME_BYTES,
      refuse: async (framed, error) => framed.write(HandoffResponseCodec, { refusal: refusalOf(error) })
    }, async (framed, peer) => {
      const deadline = setTimeout(() => framed.abort(new PeerTimeoutError('the handoff took too long')), this.init.deadlineMs ?? HANDOFF_DEADLINE_MS)
      try {
        await this.exchange(framed, connection, peer)
      } finally {
        clearTimeout(deadline)
      }
    })
  }

  private async exchange (framed: FramedStream, connection: Connection, peer: string): Promise<void> {
    const { book, attempts, host, log } = this.init
    const hello = await framed.read(HandoffRequestCodec)
    if (hello === undefined) return
    if (!('hello' in hello)) throw new MalformedMessageError('the first message must be hello')
    attempts.charge(peer)
    const { nameplate, share } = hello.hello
    try {
      checkNameplate(nameplate)
    } catch (err) {
      throw new MalformedMessageError('a nameplate is 1 to 999', { cause: err })
    }
    const parties = handoffParties(connection.remotePeer.toMultihash().bytes, host.peerId.toMultihash().bytes, nameplate)
    // the share is checked before an attempt is spent: garbage costs the offer nothing
    try {
      checkSpake2Share(share)
    } catch (err) {
      throw new MalformedMessageError('pA is not a valid share', { cause: err })
    }
    let attempt: OfferAttempt | undefined = book.begin(nameplate)
    if (attempt === undefined) throw new NotFoundError(`no live offer under nameplate ${nameplate}`)
    try {
      const own = spake2Start('B', attempt.w)
      const keys = finishOrMalformed(() => spake2Finish(own, share, parties))
      await framed.write(HandoffResponseCodec, { answer: { share: own.share, confirmation: keys.ownConfirmation } })
      const confirm = await framed.read(HandoffRequestCodec)
      if (confirm === undefined) return
      if (!('confirm' in confirm)) throw new MalformedMessageError('hello must be followed by confirm')
      if (!confirmationMatches(keys.peerConfirmation, confirm.confirm.confirmation)) {
        log.info(`handoff: ${peer} failed confirmation for nameplate ${nameplate}`)
        await framed.write(HandoffResponseCodec, { refusal: { code: REFUSAL_CODES.CONFIRMATION_FAILED!, message: 'the code does not match' } })
        return
      }
      const capability = book.claim(attempt)
      attempt = undefined
      if (capability === undefined) throw new NotFoundError(`the offer under nameplate ${nameplate} expired or was used meanwhile`)
      const sealed = capabilityEnvelope(keys.ke).seal(capabilityAad(nameplate), capability)
      await framed.write(HandoffResponseCodec, { capability: { sealed } })
      log.info(`handoff: nameplate ${nameplate} handed to ${peer}`)
    } finally {
      if (attempt !== undefined) book.fail(attempt)
    }
  }
}

function finishOrMalformed<T> (finish: () => T): T {
  try {
    return finish()
  } catch (err) {
    throw new MalformedMessageError('the share cancels the password blinding', { cause: err })
  }
}

/** A refusal in handoff.proto's codes for what serveStream caught (quloud.proto codes, matched by name). */
function refusalOf (error: WireError): { code: number, message: string } {
  const name = WIRE_NAME_OF.get(error.code)
  return { code: (name !== undefined ? REFUSAL_CODES[name] : undefined) ?? REFUSAL_CODES.INTERNAL!, message: error.message }
}
