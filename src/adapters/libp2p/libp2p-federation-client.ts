import type { Libp2p } from '@libp2p/interface'
import { poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import type { ProofAction } from '../../domain/proofs/proof-context.ts'
import { ClosedError, throwIfAborted, UnauthorizedError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { FederationClient, ProvenSession, StorageCandidate, StoreChannel } from '../../ports/federation-client.ts'
import type { Prover } from '../../ports/prover.ts'
import { raceAbort } from '../../util/race-abort.ts'
import { dialFailure, parsePeerId, requestFailure } from './federation-edge-errors.ts'
import { SessionClient } from './protocols/session-client.ts'
import { StoreClient } from './protocols/store-client.ts'
import { IDLE_TIMEOUT_MS } from './wire/constants.ts'

export interface Libp2pFederationClientInit {
  host: Libp2p
  prover: Prover
  /** Storage nodes to choose from: the peer book's live peers with their free space. */
  candidates: (options?: AbortOptions) => Promise<StorageCandidate[]>
  /** How long a dial may take before the peer counts as unreachable. */
  dialTimeoutMs?: number
  /** How long a node may stay silent while an answer is due before the stream counts as dead. */
  idleTimeoutMs?: number
}

/**
 * FederationClient over the Quloud libp2p protocols. The protocol clients below it
 * speak the wire; this class is the port's edge: it keeps the contract on closing and
 * aborting, and translates every transport failure (federation-edge-errors.ts).
 */
export class Libp2pFederationClient implements FederationClient {
  private readonly init: Libp2pFederationClientInit

  constructor (init: Libp2pFederationClientInit) {
    this.init = init
  }

  async candidates (options?: AbortOptions): Promise<StorageCandidate[]> {
    throwIfAborted(options?.signal)
    const self = this.init.host.peerId.toString()
    return (await this.init.candidates(options)).filter((c) => c.peerId !== self)
  }

  async openStore (peerId: string, options?: AbortOptions): Promise<StoreChannel> {
    const peer = parsePeerId(peerId)
    throwIfAborted(options?.signal)
    let client: StoreClient
    try {
      client = await StoreClient.open(this.dialer(peerId, options?.signal), peer, { signal: options?.signal, idleTimeoutMs: this.init.idleTimeoutMs })
    } catch (err) {
      throw requestFailure(err, peerId, [options?.signal])
    }
    const calls = new EdgeCalls(peerId, options?.signal, async () => client.close())
    return {
      store: async (chunk, callOptions) => calls.run(async () => {
        const receipt = await client.store(chunk)
        return { peerId, chunkId: receipt.chunkId, timeMs: receipt.timeMs, signature: Buffer.from(receipt.signature).toString('base64') }
      }, callOptions),
      roomLeft: () => client.roomLeft,
      close: async (closeOptions) => calls.close(closeOptions)
    }
  }

  async openSession (peerId: string, proof: { action: ProofAction, secret: bigint }, options?: AbortOptions): Promise<ProvenSession> {
    const peer = parsePeerId(peerId)
    throwIfAborted(options?.signal)
    let session: SessionClient
    try {
      session = await SessionClient.open({
        host: { peerId: this.init.host.peerId, dial: this.dialer(peerId, options?.signal).dial },
        peer,
        action: proof.action,
        secret: proof.secret,
        commitment: poseidonCommitment(proof.secret),
        prover: this.init.prover,
        signal: options?.signal,
        idleTimeoutMs: this.init.idleTimeoutMs
      })
    } catch (err) {
      throw requestFailure(err, peerId, [options?.signal])
    }
    const calls = new EdgeCalls(peerId, options?.signal, async () => session.close())
    // the node would refuse the wrong action too, by ending the stream; refusing here
    // keeps the session usable and says why
    const needs = (action: ProofAction, call: string) => {
      if (proof.action !== action) throw new UnauthorizedError(`${call} needs a ${action} session; this one was opened for ${proof.action}`)
    }
    return {
      get: async (chunkId, callOptions) => calls.run(async () => session.get(chunkId), callOptions, () => needs('read', 'get')),
      list: async (callOptions) => calls.run(async () => session.list(), callOptions, () => needs('read', 'list')),
      audit: async (chunkId, leaves, callOptions) => calls.run(async () => session.audit(chunkId, leaves), callOptions, () => needs('read', 'audit')),
      delete: async (chunkId, callOptions) => calls.run(async () => ({ bytesRemoved: (await session.delete(chunkId)).bytesRemoved }), callOptions, () => needs('delete', 'delete')),
      renew: async (chunkIds, callOptions) => calls.run(async () => session.renew(chunkIds, callOptions?.lease), callOptions, () => needs('delete', 'renew')),
      close: async (closeOptions) => calls.close(closeOptions)
    }
  }

  /** dialProtocol whose failures are PeerUnreachableError (or AbortError), bounded in time. */
  private dialer (peerId: string, signal: AbortSignal | undefined): Pick<Libp2p, 'dialProtocol' | 'dial'> {
    const host = this.init.host
    const timeoutMs = this.init.dialTimeoutMs ?? IDLE_TIMEOUT_MS
    const bounded = <T extends { signal?: AbortSignal }>(dialOptions: T | undefined): T => ({
      ...dialOptions, signal: AbortSignal.any([dialOptions?.signal, AbortSignal.timeout(timeoutMs)].filter((s) => s !== undefined))
    }) as T
    const translated = async <T>(work: () => Promise<T>): Promise<T> => {
      try {
        return await work()
      } catch (err) {
        throw dialFailure(err, peerId, signal)
      }
    }
    return {
      dialProtocol: (async (peer, protocols, dialOptions) => translated(async () => host.dialProtocol(peer, protocols, bounded(dialOptions)))) as Libp2p['dialProtocol'],
      dial: (async (peer, dialOptions) => translated(async () => host.dial(peer, bounded(dialOptions)))) as Libp2p['dial']
    }
  }
}

/** The calls of one open channel or session: closed state, per-call abort, translated failures. */
class EdgeCalls {
  private closed = false
  private closing: Promise<void> | undefined
  private readonly peer: string
  private readonly channelSignal: AbortSignal | undefined
  private readonly end: () => Promise<void>

  constructor (peer: string, channelSignal: AbortSignal | undefined, end: () => Promise<void>) {
    this.peer = peer
    this.channelSignal = channelSignal
    this.end = end
  }

  async run<T> (work: () => Promise<T>, options?: AbortOptions, check?: () => void): Promise<T> {
    if (this.closed) throw new ClosedError(`the stream to ${this.peer} is closed`)
    throwIfAborted(options?.signal)
    throwIfAborted(this.channelSignal)
    check?.()
    try {
      return await raceAbort(work(), options?.signal)
    } catch (err) {
      throw requestFailure(err, this.peer, [options?.signal, this.channelSignal])
    }
  }

  async close (options?: AbortOptions): Promise<void> {
    this.closed = true
    // a broken stream has nothing left to close; closing never fails the caller
    this.closing ??= this.end().catch(() => {})
    await raceAbort(this.closing, options?.signal).catch(() => {})
  }
}
