import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ShortCodeMismatchError, ShortCodeNotFoundError } from '../../../app/handoff/handoff-errors.ts'
import type { HandoffExchange } from '../../../app/handoff/handoff-service.ts'
import { confirmationMatches, spake2Finish, spake2Start } from '../../../domain/crypto/spake2.ts'
import {
  ConnectionLostError, MalformedMessageError, PeerTimeoutError, PeerUnreachableError, ProtocolError, RemoteInternalError
} from '../../../domain/protocol/federation-errors.ts'
import type { QuloudErrorClass } from '../../../errors.ts'
import type { AbortOptions } from '../../../ports/abort-options.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { CLASS_OF_WIRE_NAME } from '../wire/wire-errors.ts'
import {
  capabilityAad, capabilityEnvelope, HANDOFF_DEADLINE_MS, HANDOFF_IDLE_TIMEOUT_MS, HANDOFF_PROTOCOL, handoffParties,
  HandoffRequestCodec, HandoffResponseCodec, MAX_HANDOFF_FRAME_BYTES, REFUSAL_CODES, type HandoffResponse, type Refusal
} from './handoff-messages.ts'

export interface HandoffClientInit {
  host: Pick<Libp2p, 'dialProtocol' | 'peerId'>
  idleTimeoutMs?: number
  deadlineMs?: number
}

// the store protocol's meanings, but for the two refusals only a handoff has
const CLASS_OF_REFUSAL: Readonly<Record<string, QuloudErrorClass>> = {
  ...CLASS_OF_WIRE_NAME,
  NOT_FOUND: ShortCodeNotFoundError,
  CONFIRMATION_FAILED: ShortCodeMismatchError
}
const CLASS_OF_REFUSAL_CODE = new Map(Object.entries(REFUSAL_CODES).map(([name, code]) => [code, CLASS_OF_REFUSAL[name] ?? RemoteInternalError]))

/**
 * The receiver's side of `/quloud/handoff/1.0.0` with one peer (protocol-spec/handoff.md).
 * It sends cA only after cB verified, so a peer that does not know the password learns
 * nothing from us beyond pA; and it returns only a capability that opens under Ke.
 */
export class HandoffClient implements HandoffExchange {
  private readonly init: HandoffClientInit

  constructor (init: HandoffClientInit) {
    this.init = init
  }

  async redeem (peer: string, nameplate: number, w: bigint, options: AbortOptions = {}): Promise<Uint8Array> {
    const deadline = AbortSignal.timeout(this.init.deadlineMs ?? HANDOFF_DEADLINE_MS)
    const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline])
    const remote = peerIdFromString(peer)
    let framed: FramedStream
    try {
      const stream = await this.init.host.dialProtocol(remote, HANDOFF_PROTOCOL, { signal })
      framed = new FramedStream(stream, { maxFrameBytes: MAX_HANDOFF_FRAME_BYTES, idleTimeoutMs: this.init.idleTimeoutMs ?? HANDOFF_IDLE_TIMEOUT_MS, signal })
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      throw new PeerUnreachableError(`cannot open ${HANDOFF_PROTOCOL} to ${peer}: ${(err as Error).message}`, { cause: err })
    }
    try {
      const own = spake2Start('A', w)
      const parties = handoffParties(this.init.host.peerId.toMultihash().bytes, remote.toMultihash().bytes, nameplate)
      await framed.write(HandoffRequestCodec, { hello: { nameplate, share: own.share } })
      const answer = await expect(framed, 'answer')
      let keys
      try {
        keys = spake2Finish(own, answer.answer.share, parties)
      } catch (err) {
        throw new MalformedMessageError('the peer answered with an invalid share', { cause: err })
      }
      if (!confirmationMatches(keys.peerConfirmation, answer.answer.confirmation)) {
        throw new ShortCodeMismatchError(`the node offering number ${nameplate} does not know these words`)
      }
      await framed.write(HandoffRequestCodec, { confirm: { confirmation: keys.ownConfirmation } })
      const sealed = await expect(framed, 'capability')
      const capability = capabilityEnvelope(keys.ke).open(capabilityAad(nameplate), sealed.capability.sealed, (reason, cause) => new ProtocolError(`the sealed capability does not open: ${reason}`, { cause }))
      await framed.close()
      return capability
    } catch (err) {
      framed.abort(err as Error)
      if (deadline.aborted && options.signal?.aborted !== true && !(err instanceof ShortCodeMismatchError)) {
        throw new PeerTimeoutError(`the handoff with ${peer} took longer than ${this.init.deadlineMs ?? HANDOFF_DEADLINE_MS} ms`, { cause: err })
      }
      throw err
    }
  }
}

async function expect<K extends 'answer' | 'capability'> (framed: FramedStream, kind: K): Promise<Extract<HandoffResponse, Record<K, unknown>>> {
  const response = await framed.read(HandoffResponseCodec)
  if (response === undefined) throw new ConnectionLostError('the sharer closed the stream')
  if ('refusal' in response) throw refusalError(response.refusal)
  if (!(kind in response)) throw new ProtocolError(`expected ${kind}`)
  return response as Extract<HandoffResponse, Record<K, unknown>>
}

function refusalError (refusal: Refusal): Error {
  const Class = CLASS_OF_REFUSAL_CODE.get(refusal.code) ?? RemoteInternalError
  return new Class(refusal.message === '' ? `refused (${refusal.code})` : refusal.message)
}
