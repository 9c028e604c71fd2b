import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { ChunkIdMismatchError, ConnectionLostError, ProtocolError } from '../../../domain/protocol/federation-errors.ts'
import { chunkIdMatches, isChunkId } from '../../../domain/formats/chunk-id.ts'
import { encodeGroth16Proof } from '../../../domain/proofs/groth16-proof.ts'
import { commitmentToDecimal } from '../../../domain/proofs/poseidon-commitment.ts'
import { deriveProofContext, type ProofAction } from '../../../domain/proofs/proof-context.ts'
import type { Prover } from '../../../ports/prover.ts'
import { DELETE_PROTOCOL, IDLE_TIMEOUT_MS, MAX_CHUNK_IDS_PER_PAGE, MAX_CONTROL_FRAME_BYTES, MAX_DATA_FRAME_BYTES, MAX_LISTED_CHUNK_IDS, MAX_RENEW_FRAME_BYTES, RETRIEVE_PROTOCOL } from '../wire/constants.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec, type Receipt, type SessionRequest, type SessionResponse } from '../wire/messages.ts'
import { errorFromWire } from '../wire/wire-errors.ts'
import { PipelinedExchange } from './pipelined-exchange.ts'
import { checkAuditAnswer } from './session-audit.ts'
import type { AuditProofMessage } from '../wire/messages.ts'
import { verifyReceipt } from './receipt-signer.ts'

export interface OpenSessionOptions {
  host: Pick<Libp2p, 'dial' | 'peerId'>
  peer: PeerId
  action: ProofAction
  /** The file's retrieval secret s; only a proof of it leaves this node. */
  secret: bigint
  commitment: bigint
  prover: Prover
  signal?: AbortSignal
  /** A node that sends nothing for this long while an answer is due fails the session. */
  idleTimeoutMs?: number
}

/** Per connection, the sessions it proved for (action and commitment) and when each ends. */
const proven = new WeakMap<Connection, Map<string, number>>()

function provenOn (connection: Connection, key: string): boolean {
  return (proven.get(connection)?.get(key) ?? 0) > Date.now()
}

function rememberProven (connection: Connection, key: string, expiresAtMs: number): void {
  const sessions = proven.get(connection) ?? new Map<string, number>()
  for (const [k, until] of sessions) if (until <= Date.now()) sessions.delete(k)
  sessions.set(key, expiresAtMs)
  proven.set(connection, sessions)
}

/**
 * A proof-gated session with one storage node for one commitment: `get` (action read)
 * or `delete` (action delete) may be called concurrently and are pipelined. Chunks are
 * checked against their ids and receipts against the node's key before they are
 * returned.
 */
export class SessionClient {
  readonly expiresAt: number
  private readonly options: OpenSessionOptions
  private readonly commitment: string
  private readonly framed: FramedStream
  private readonly exchange: PipelinedExchange<SessionRequest, SessionResponse>

  private constructor (options: OpenSessionOptions, framed: FramedStream, expiresAt: number) {
    this.options = options
    this.commitment = commitmentToDecimal(options.commitment)
    this.framed = framed
    this.expiresAt = expiresAt
    this.exchange = new PipelinedExchange(framed, SessionRequestCodec, SessionResponseCodec)
  }

  static async open (options: OpenSessionOptions): Promise<SessionClient> {
    const { host, peer, action, prover } = options
    const signal = options.signal
    const dialSignal = signal ?? AbortSignal.timeout(IDLE_TIMEOUT_MS)
    const connection = await host.dial(peer, { signal: dialSignal })
    const stream = await connection.newStream(action === 'read' ? RETRIEVE_PROTOCOL : DELETE_PROTOCOL, { signal: dialSignal })
    const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS, signal })
    try {
      const commitment = commitmentToDecimal(options.commitment)
      await framed.write(SessionRequestCodec, { hello: { commitment } })
      let answer = await expectResponse(framed)
      const challenged = 'challenge' in answer
      if ('challenge' in answer) {
        const context = deriveProofContext({
          challenge: answer.challenge.nonce,
          storageNode: peer.toMultihash().bytes,
          requester: host.peerId.toMultihash().bytes,
          action,
          expiresAt: answer.challenge.expiresAtMs
        })
        const proof = await prover.prove({ secret: options.secret, commitment: options.commitment, context }, { signal })
        await framed.write(SessionRequestCodec, { proof: { proof: encodeGroth16Proof(proof) } })
        answer = await expectResponse(framed)
      }
      if (!('ready' in answer)) throw new ProtocolError('the storage node did not open the session')
      const key = `${action}:${commitment}`
      // a node opens a session without a challenge only where this connection proved for it (retrieve.md)
      if (!challenged && !provenOn(connection, key)) throw new ProtocolError('the storage node opened a session it never challenged this connection for')
      if (challenged) rememberProven(connection, key, answer.ready.expiresAtMs)
      return new SessionClient(options, framed, answer.ready.expiresAtMs)
    } catch (err) {
      framed.abort(err as Error)
      throw err
    }
  }

  get inFlight (): number {
    return this.exchange.inFlight
  }

  /** Bytes the node has made this session hold unread: at most two answers and the stream's window. */
  get heldBytes (): number {
    return this.framed.heldBytes
  }

  /** The chunk's owner ciphertext, verified against its id. */
  async get (chunkId: string): Promise<Uint8Array> {
    const response = await this.exchange.exchange({ get: { chunkId } })
    if ('error' in response) throw errorFromWire(response.error.code, response.error.message)
    if (!('chunk' in response) || response.chunk.chunkId !== chunkId) throw new ProtocolError('the storage node answered get with something else')
    if (!chunkIdMatches(chunkId, response.chunk.data)) throw new ChunkIdMismatchError(`chunk ${chunkId} from ${this.options.peer.toString()} does not match its id`)
    return response.chunk.data
  }

  /** Leaves of chunk `chunkId` with their Merkle paths, as asked; verifying them against a root is the caller's. */
  async audit (chunkId: string, leaves: number[]): Promise<AuditProofMessage> {
    const response = await this.exchange.exchange({ audit: { chunkId, leaves } })
    if ('error' in response) throw errorFromWire(response.error.code, response.error.message)
    if (!('auditProof' in response)) throw new ProtocolError('the storage node answered audit with something else')
    return checkAuditAnswer(response.auditProof, chunkId, leaves)
  }

  /** Every chunk id the node holds under this session's commitment. */
  async list (): Promise<string[]> {
    const ids: string[] = []
    for (let after = ''; ;) {
      const response = await this.exchange.exchange({ list: { after } })
      if ('error' in response) throw errorFromWire(response.error.code, response.error.message)
      if (!('chunkList' in response)) throw new ProtocolError('the storage node answered list with something else')
      if (response.chunkList.chunkIds.length > MAX_CHUNK_IDS_PER_PAGE) throw new ProtocolError(`the storage node listed more than ${MAX_CHUNK_IDS_PER_PAGE} chunks in one page`)
      // stores hold only chunk ids (at most 128 characters): ids of a frame's length each
      // would let the count limit alone hold ~100 MB of one node's listing
      if (!response.chunkList.chunkIds.every(isChunkId)) throw new ProtocolError('the storage node listed something that is not a chunk id')
      ids.push(...response.chunkList.chunkIds)
      if (ids.length > MAX_LISTED_CHUNK_IDS) throw new ProtocolError(`the storage node listed more than ${MAX_LISTED_CHUNK_IDS} chunks under one commitment`)
      const last = response.chunkList.chunkIds.at(-1)
      if (!response.chunkList.more || last === undefined || last <= after) return ids
      after = last
    }
  }

  /** Deletes the chunk under this session's commitment; the node's verified receipt. */
  async delete (chunkId: string): Promise<Receipt> {
    const response = await this.exchange.exchange({ delete: { chunkId } }, MAX_CONTROL_FRAME_BYTES)
    if ('error' in response) throw errorFromWire(response.error.code, response.error.message)
    if (!('receipt' in response)) throw new ProtocolError('the storage node answered delete with something else')
    // a delete session's commitment is D; the record's C is the node's to state
    await verifyReceipt(response.receipt, this.options.peer, { chunkId, deleteCommitment: this.commitment, kind: 'deleted' })
    return response.receipt
  }

  /**
   * Renews the leases of these chunks' records under this session's commitment, a D or
   * an L (leases.md, at most MAX_RENEW_CHUNK_IDS); with `lease`, the records renewed
   * under D get it as their lease commitment. The node's expiry, the ids it holds no
   * record of, and whether it keeps lease commitments at all (nodes before them do not say).
   */
  async renew (chunkIds: string[], lease?: string): Promise<{ expiresAt: number, missing: string[], leaseCommitments: boolean }> {
    const response = await this.exchange.exchange({ renew: { chunkIds, ...(lease === undefined ? {} : { leaseCommitment: lease }) } }, MAX_RENEW_FRAME_BYTES)
    if ('error' in response) throw errorFromWire(response.error.code, response.error.message)
    if (!('renewed' in response)) throw new ProtocolError('the storage node answered renew with something else')
    const asked = new Set(chunkIds)
    const { missing, expiresAtMs, leaseCommitments } = response.renewed
    if (missing.length > chunkIds.length || missing.some((id) => !asked.has(id))) throw new ProtocolError('the storage node answered a renewal with chunks not asked')
    return { expiresAt: expiresAtMs, missing, leaseCommitments: leaseCommitments === true }
  }

  async close (): Promise<void> {
    await this.framed.close()
  }
}

async function expectResponse (framed: FramedStream): Promise<SessionResponse> {
  // a challenge or a ready: a node answering hello or a proof with a chunk-sized frame is refused
  const response = await framed.read(SessionResponseCodec, MAX_CONTROL_FRAME_BYTES)
  if (response === undefined) throw new ConnectionLostError('the storage node closed the stream')
  if ('error' in response) throw errorFromWire(response.error.code, response.error.message)
  return response
}
