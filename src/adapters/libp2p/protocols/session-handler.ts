import { encodeChunkResponse } from './chunk-response-frame.ts'
import { randomBytes } from 'node:crypto'
import type { Connection, PrivateKey, Startable, Stream } from '@libp2p/interface'
import type { StorageService } from '../../../app/storage-service.ts'
import { ExpiredError, InvalidProofError, MalformedMessageError } from '../../../domain/protocol/federation-errors.ts'
import { decodeGroth16Proof } from '../../../domain/proofs/groth16-proof.ts'
import { commitmentFromDecimal } from '../../../domain/proofs/poseidon-commitment.ts'
import { CHALLENGE_BYTES, deriveProofContext, type ProofAction } from '../../../domain/proofs/proof-context.ts'
import { QuloudError, StorageError, UnauthorizedError } from '../../../errors.ts'
import type { Logger } from '../../../ports/logger.ts'
import type { Verifier } from '../../../ports/verifier.ts'
import type { AdmittedChallenge, ChallengeOutcome, ProofAdmission } from '../../proof/proof-admission.ts'
import {
  CHALLENGE_TTL_MS, DELETE_PROTOCOL, MAX_CONTROL_FRAME_BYTES, MAX_DATA_FRAME_BYTES, MAX_INBOUND_STREAMS_PER_CONNECTION, MAX_RENEW_CHUNK_IDS, MAX_RENEW_FRAME_BYTES, REQUESTS_IN_PROGRESS_PER_STREAM, RETRIEVE_PROTOCOL, SESSION_TTL_MS
} from '../wire/constants.ts'
import { encodeFrame, type FramedStream } from '../wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec, type SessionRequest, type SessionResponse } from '../wire/messages.ts'
import { wireCodeOf } from '../wire/wire-errors.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { StreamResources } from './stream-resources.ts'
import type { Reservation } from '../../../domain/resources/resource-budget.ts'
import type { ProofSessions } from './proof-sessions.ts'
import { respondInOrder } from './ordered-responder.ts'
import { signReceipt } from './receipt-signer.ts'
import { admissionNetworkOf } from '../../../domain/membership/subnet.ts'
import { serveStream, type ProtocolHost } from './serve-stream.ts'
import { auditProofOf, checkAuditLeaves } from './session-audit.ts'
import type { AuditBudget } from './audit-budget.ts'
import type { StorePacing } from './store-pacing.ts'
import { holdBack } from './hold-back.ts'

export interface SessionHandlerInit {
  host: ProtocolHost
  privateKey: PrivateKey
  storage: StorageService
  verifier: Verifier
  sessions: ProofSessions
  /** Who gets a challenge at all, before any is issued (shared by retrieve and delete). */
  admission: ProofAdmission
  limits: PeerLimits
  /** Audits a peer and its network may ask (retrieve only); without it, only the request rate bounds them. */
  audits?: AuditBudget
  /** The node's resource budget: admits streams and holds each chunk read for a get until it is written out. */
  resources?: StreamResources
  /** Told of work for peers with standing, so strangers' stores are paced meanwhile (store-pacing.ts). */
  pacing?: StorePacing
  log: Logger
  /** Silence after which a stream is dropped (default IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number
  /** 'read' serves /quloud/retrieve/2.0.0 (sessions under C), 'delete' /quloud/delete/2.0.0 (under D). */
  action: ProofAction
  challengeTtlMs?: number
  sessionTtlMs?: number
  now?: () => number
}

/** Chunk ids per list page: ~60 KB, well inside a data frame. */
const LIST_PAGE_SIZE = 1000

/** A proof costs the verifier ~10 ms of CPU: it is charged like this many requests. */
const PROOF_COST = 20

/**
 * `/quloud/retrieve/2.0.0` and `/quloud/delete/2.0.0` (protocol-spec/retrieve.md,
 * delete.md): hello → challenge → proof → ready, then get (or delete) requests under
 * that commitment: the read commitment C on retrieve, the delete commitment D on
 * delete. Without a verified proof for this connection nothing is served.
 */
export class SessionHandler implements Startable {
  private readonly init: SessionHandlerInit
  private readonly protocol: string
  private readonly now: () => number

  constructor (init: SessionHandlerInit) {
    this.init = init
    this.protocol = init.action === 'read' ? RETRIEVE_PROTOCOL : DELETE_PROTOCOL
    this.now = init.now ?? Date.now
  }

  async start (): Promise<void> {
    await this.init.host.handle(this.protocol, async (stream, connection) => this.onStream(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS_PER_CONNECTION
    })
  }

  async stop (): Promise<void> {
    await this.init.host.unhandle(this.protocol)
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    await serveStream(stream, connection, {
      limits: this.init.limits,
      resources: this.init.resources,
      log: this.init.log,
      idleTimeoutMs: this.init.idleTimeoutMs,
      // a delete session may renew many chunks in one frame (leases.md)
      maxFrameBytes: this.init.action === 'delete' ? MAX_RENEW_FRAME_BYTES : MAX_CONTROL_FRAME_BYTES,
      refuse: async (framed, error) => framed.write(SessionResponseCodec, { error })
    }, async (framed, peer) => {
      // only a proven delete session's renewals may take larger frames
      const hello = await framed.read(SessionRequestCodec, MAX_CONTROL_FRAME_BYTES)
      if (hello === undefined) return
      if (!('hello' in hello)) throw new MalformedMessageError('the first message must be hello')
      this.init.limits.charge(peer)
      this.init.pacing?.noteWork(peer)
      const commitment = hello.hello.commitment
      commitmentFromDecimal(commitment)
      const expiresAt = this.init.sessions.valid(connection.id, commitment, this.init.action) ??
        await this.authenticate(framed, connection, peer, commitment)
      if (expiresAt === undefined) return
      await framed.write(SessionResponseCodec, { ready: { expiresAtMs: expiresAt } })
      await this.serveRequests(framed, connection, peer, commitment)
    })
  }

  /**
   * challenge → proof → verify; the session's expiry, or undefined if the peer left.
   * Admission comes first: a peer whose proofs failed, or a crowd of strangers, is
   * refused BUSY before the node spends a challenge, a read or a pairing on it.
   */
  private async authenticate (framed: FramedStream, connection: Connection, peer: string, commitment: string): Promise<number | undefined> {
    const requester = { peer, subnet: admissionNetworkOf(connection.remoteAddr.toString()) }
    const admitted = this.admit(requester, connection)
    if (admitted.priority) this.init.pacing?.noteWork(peer, true)
    let outcome: ChallengeOutcome = 'abandoned'
    try {
      const verdict = await this.challengeAndVerify(framed, connection, commitment, { ...requester, priority: admitted.priority })
      if (verdict === undefined) return undefined
      outcome = verdict ? 'verified' : 'failed'
      if (!verdict) throw new InvalidProofError('the proof does not verify for this challenge, commitment and peers')
    } finally {
      admitted.settle(outcome)
    }
    this.init.log.debug(`${peer} proved ${this.init.action} for commitment ${commitment.slice(0, 12)}…`)
    return this.init.sessions.open(connection.id, commitment, this.init.action, this.init.sessionTtlMs ?? SESSION_TTL_MS)
  }

  /**
   * The admission's ticket, or its BusyError. A peer that keeps asking through its
   * cooldown is not read until it is over (at most MAX_KNOCK_HOLD_MS at a time):
   * refusing its streams one by one would still cost the node each stream's setup, as
   * often as the peer cares to open them, and hanging up made it reconnect at once, a
   * Noise handshake each time on both sides (the un-niced proof flood's attacker took
   * its CPU from the honest client's proving). Held back, its streams wait in its own
   * TCP window; the refusal being written still goes out.
   */
  private admit (requester: { peer: string, subnet: string }, connection: Connection): AdmittedChallenge {
    try {
      return this.init.admission.admit(requester)
    } catch (err) {
      const { admission } = this.init
      if (admission.ignoresCooldown(requester.peer)) holdBack(connection, Math.min(MAX_KNOCK_HOLD_MS, admission.cooldownLeftMs(requester.peer)))
      throw err
    }
  }

  /** The verifier's verdict on the answer to a fresh challenge, or undefined if the peer left. */
  private async challengeAndVerify (
    framed: FramedStream, connection: Connection, commitment: string, requester: { peer: string, subnet: string, priority: boolean }
  ): Promise<boolean | undefined> {
    const { action, verifier, limits, host } = this.init
    const challenge = randomBytes(CHALLENGE_BYTES)
    const challengeExpiresAt = this.now() + (this.init.challengeTtlMs ?? CHALLENGE_TTL_MS)
    await framed.write(SessionResponseCodec, { challenge: { nonce: challenge, expiresAtMs: challengeExpiresAt } })
    const answer = await framed.read(SessionRequestCodec, MAX_CONTROL_FRAME_BYTES)
    if (answer === undefined) return undefined
    // a request of the session before its proof is refused as unauthorised, whichever
    // protocol it belongs to (protocol-spec/retrieve.md, state machine)
    if ('get' in answer || 'delete' in answer || 'list' in answer || 'audit' in answer || 'renew' in answer) throw new UnauthorizedError('no proof, no byte: answer the challenge first')
    if (!('proof' in answer)) throw new MalformedMessageError('a challenge must be answered with a proof')
    limits.charge(requester.peer, PROOF_COST)
    if (this.now() > challengeExpiresAt) throw new ExpiredError('the challenge expired before the proof arrived')
    const context = deriveProofContext({
      challenge,
      storageNode: host.peerId.toMultihash().bytes,
      requester: connection.remotePeer.toMultihash().bytes,
      action,
      expiresAt: challengeExpiresAt
    })
    const proof = decodeGroth16Proof(answer.proof.proof)
    // the verifier serves requesters in turn, by network first: many ids on one subnet share a turn
    return verifier.verify({ proof, commitment: BigInt(commitment), context }, { requester })
  }

  private async serveRequests (framed: FramedStream, connection: Connection, peer: string, commitment: string): Promise<void> {
    const { action, sessions, limits, log } = this.init
    await respondInOrder(
      async () => {
        const request = await framed.read(SessionRequestCodec)
        if (request === undefined) return undefined
        // checked as requests arrive, so nothing is served once the session is over
        limits.charge(peer)
        this.init.pacing?.noteWork(peer)
        if (sessions.valid(connection.id, commitment, action) === undefined) throw new ExpiredError('the session expired; prove again')
        if (!('list' in request && action === 'read') && !('renew' in request && action === 'delete')) chunkIdOf(request, action)
        // a renewal is a record's work per id: charged like that many requests, so one frame is not 1,000 gets' work for one
        if ('renew' in request) limits.charge(peer, Math.min(request.renew.chunkIds.length, MAX_RENEW_CHUNK_IDS))
        return request
      },
      async (request): Promise<SessionResponse> => {
        if ('list' in request) return { chunkList: await this.init.storage.list(commitment, request.list.after, LIST_PAGE_SIZE) }
        if ('renew' in request) return this.renew(request.renew, commitment, peer)
        const chunkId = chunkIdOf(request, action)
        try {
          if ('audit' in request) return await this.audit(chunkId, request.audit.leaves, commitment, framed, connection)
          return await this.answer(chunkId, commitment, framed)
        } catch (err) {
          if (!(err instanceof QuloudError) || err instanceof StorageError) throw err
          log.info(`refused ${action} of ${chunkId.slice(0, 80)} for ${peer}: ${err.code}`)
          limits.refused(this.protocol, err.code)
          return { error: { code: wireCodeOf(err), message: err.message, chunkId } }
        }
      },
      // a chunk goes out framed around its own bytes, every other answer through the codec
      async (responses) => writeAndRelease(framed, responses),
      REQUESTS_IN_PROGRESS_PER_STREAM,
      // a chunk answer is up to 1 MiB: written and dropped one by one (ordered-responder.ts)
      1
    )
  }

  /**
   * A renewal under the session's commitment, a D or an L (leases.md); a malformed one
   * is refused MALFORMED and the session goes on, as a malformed get's id is.
   */
  private async renew ({ chunkIds, leaseCommitment }: { chunkIds: string[], leaseCommitment?: string }, commitment: string, peer: string): Promise<SessionResponse> {
    try {
      if (chunkIds.length === 0 || chunkIds.length > MAX_RENEW_CHUNK_IDS) throw new MalformedMessageError(`a renewal names 1 to ${MAX_RENEW_CHUNK_IDS} chunk ids, got ${chunkIds.length}`)
      if (new Set(chunkIds).size !== chunkIds.length) throw new MalformedMessageError('a renewal names each chunk once')
      const { expiresAt, missing } = await this.init.storage.renew(chunkIds, commitment, leaseCommitment === undefined ? undefined : { lease: leaseCommitment })
      return { renewed: { expiresAtMs: expiresAt, missing, leaseCommitments: true } }
    } catch (err) {
      if (!(err instanceof QuloudError) || err instanceof StorageError) throw err
      this.init.log.info(`refused a renewal of ${chunkIds.length} chunk(s) for ${peer}: ${err.code}`)
      this.init.limits.refused(this.protocol, err.code)
      return { error: { code: wireCodeOf(err), message: err.message, chunkId: '' } }
    }
  }

  /** Leaves of a held chunk with their paths; the chunk is held within the budget while it is hashed. */
  private async audit (chunkId: string, leaves: number[], commitment: string, framed: FramedStream, connection: Connection): Promise<SessionResponse> {
    const asked = checkAuditLeaves(leaves)
    // a chunk's read and hash for a leaf's bandwidth: budgeted before any of it is done
    this.init.audits?.charge(connection.remotePeer.toString(), admissionNetworkOf(connection.remoteAddr.toString()))
    const { resources } = this.init
    const held = framed.budget === undefined || resources === undefined ? undefined : await resources.reserve(framed.budget, MAX_DATA_FRAME_BYTES)
    try {
      return { auditProof: auditProofOf(chunkId, await this.init.storage.read(chunkId, commitment), asked) }
    } finally {
      held?.release()
    }
  }

  private async answer (chunkId: string, commitment: string, framed: FramedStream): Promise<SessionResponse> {
    const { storage, privateKey, host } = this.init
    if (this.init.action === 'read') return readWithinBudget(this.init.resources, framed, async () => ({ chunk: { chunkId, data: await storage.read(chunkId, commitment) } }))
    // a delete session's commitment is D; the receipt names the removed record's C too
    const { removed, bytesRemoved } = await storage.remove(chunkId, commitment)
    return {
      receipt: await signReceipt(privateKey, host.peerId, {
        kind: 'deleted', chunkId, commitment: removed.commitment, deleteCommitment: removed.deleteCommitment, timeMs: this.now(), bytesRemoved
      })
    }
  }
}

/** What a chunk answer holds beyond its bytes: id, field tags and lengths. */
const CHUNK_ANSWER_OVERHEAD = 512

/**
 * The memory of each chunk answer, held from before its bytes are read from disk until
 * the stream took them: a peer that asks and never reads holds what the budget gave it.
 */
const heldAnswers = new WeakMap<SessionResponse, Reservation>()

async function readWithinBudget (resources: StreamResources | undefined, framed: FramedStream, read: () => Promise<SessionResponse & { chunk: { data: Uint8Array } }>): Promise<SessionResponse> {
  const budget = framed.budget
  if (budget === undefined || resources === undefined) return read()
  // the largest answer first: the size is known only once read
  const held = await resources.reserve(budget, MAX_DATA_FRAME_BYTES)
  try {
    const response = await read()
    held.resize(response.chunk.data.byteLength + CHUNK_ANSWER_OVERHEAD)
    heldAnswers.set(response, held)
    return response
  } catch (err) {
    held.release()
    throw err
  }
}

async function writeAndRelease (framed: FramedStream, responses: SessionResponse[]): Promise<void> {
  await framed.writeAll(responses,
    // a chunk goes out framed around its own bytes, every other answer through the codec
    (response) => 'chunk' in response ? encodeChunkResponse(response.chunk) : encodeFrame(SessionResponseCodec, response),
    (response) => { heldAnswers.get(response)?.release() })
}

/** The longest a knocking peer's connection is held back at once; it is weighed again when read. */
const MAX_KNOCK_HOLD_MS = 10_000

function chunkIdOf (request: SessionRequest, action: ProofAction): string {
  if (action === 'read' && 'get' in request) return request.get.chunkId
  if (action === 'read' && 'audit' in request) return request.audit.chunkId
  if (action === 'delete' && 'delete' in request) return request.delete.chunkId
  throw new MalformedMessageError(`expected a ${action === 'read' ? 'get' : 'delete'} request`)
}
