import type { PlacementCandidate } from '../domain/membership/placement.ts'
import type { ProofAction } from '../domain/proofs/proof-context.ts'
import type { AbortOptions } from './abort-options.ts'

/**
 * A storage node the owner may place chunks on, as the peer book knows it: what
 * placement weighs (domain/membership/placement.ts), its announced free bytes, whether
 * its last liveness probes succeeded, and what this node observed of it.
 */
export type StorageCandidate = PlacementCandidate

/** What the owner keeps of a storage node's signed receipt. */
export interface StoredReceipt {
  peerId: string
  chunkId: string
  timeMs: number
  /** Base64 Ed25519 signature over the receipt's canonical bytes (protocol-spec/README.md). */
  signature: string
}

/** One chunk to store: its id, its read and delete commitments (decimal), its owner ciphertext. */
export interface StoreChunkRequest {
  chunkId: string
  commitment: string
  deleteCommitment: string
  /**
   * The owner's lease commitment L (decimal; protocol-spec/leases.md, "Lease
   * commitments"): a record the store creates keeps it, so one session proven under L
   * renews every record of this owner on the node. Not in the receipt: a node from
   * before lease commitments ignores it, and the owner's renewals find that out.
   */
  leaseCommitment?: string
  data: Uint8Array
}

/**
 * A store stream to one node. `store` may be called concurrently; the calls are
 * pipelined on one stream and settle independently.
 *
 * - `store` keeps the chunk under the read commitment C (`commitment`: reads prove it)
 *   and the delete commitment D (`deleteCommitment`: deletes prove it). It resolves to
 *   the node's receipt, already verified against the node's key and naming both
 *   commitments sent (InvalidReceiptError otherwise). Storing the same (chunk,
 *   commitment) again is idempotent: the node answers with a fresh receipt and keeps
 *   one copy. A record of (chunk, C) keeps the D it was first stored with, so storing
 *   it again with another D gets InvalidReceiptError (the receipt names the old D): the
 *   chunk is held, but not deletable by this caller.
 * - Refusals of the request itself are final, sending it again changes nothing:
 *   ChunkIdMismatchError (id is not the hash of data), MalformedMessageError (bad id
 *   or commitment), TooLargeError, QuotaExceededError, CapacityFullError.
 * - When the stream breaks, pending and later calls reject with ConnectionLostError
 *   (reset or closed mid-request) or PeerTimeoutError (the node went silent); open
 *   a new channel to retry.
 * - A call's AbortSignal rejects that call with AbortError at once and leaves the
 *   others running. A chunk whose frame was already sent may still be stored by the
 *   node: without a receipt the caller counts it as not stored; storing is idempotent.
 *   The signal given to `openStore` governs the whole channel: when it fires, every
 *   pending call rejects with AbortError and the stream is dropped.
 * - After `close`, calls reject with ClosedError. `close` lets answers to calls
 *   already made arrive, then ends the stream; it is idempotent and never throws
 *   (the stream may be broken already). Its signal only stops the waiting.
 */
export interface StoreChannel {
  store (chunk: StoreChunkRequest, options?: AbortOptions): Promise<StoredReceipt>
  /**
   * Bytes the node said, in its latest answer, it would still take from this node
   * (unsigned, informative: protocol-spec/store.md, "Room left"); undefined when it did
   * not say. Not part of the receipt: receipts are what manifests keep.
   */
  roomLeft?: () => number | undefined
  close (options?: AbortOptions): Promise<void>
}

/**
 * A proven session with one node for one commitment, opened with the file's secret for
 * one action; calls may be concurrent (pipelined) and settle independently.
 *
 * - It sees only what is stored under its own commitment: a read session (secret s)
 *   the records whose C = Poseidon(s), a delete session (secret d) those whose
 *   D = Poseidon(d). Anything else is NotFoundError to `get` and `delete`, and absent
 *   from `list`; so a reader, who knows s but not d, deletes nothing.
 * - Errors when the stream breaks, abort and close behave as on StoreChannel
 *   (ConnectionLostError, PeerTimeoutError, AbortError, ClosedError); every read-only
 *   call may be retried on a new session.
 * - ExpiredError: the node's session time ran out; open a new session.
 * - UnauthorizedError: the call needs the other action (`get`/`list` on a delete
 *   session, `delete` on a read session).
 */
/** A holder's answer to an audit: sampled leaves of one piece with their Merkle paths, unverified. */
export interface AuditProof {
  /** Leaves of the whole piece, as the holder states it (the owner knows the true count). */
  leafCount: number
  leaves: Array<{ index: number, data: Uint8Array, path: Uint8Array[] }>
}

/** A holder's answer to a renewal (ProvenSession.renew). */
export interface RenewAnswer {
  expiresAt: number
  missing: string[]
  leaseCommitments: boolean
}

export interface ProvenSession {
  /** Owner ciphertext, already checked against its id (ChunkIdMismatchError otherwise). NotFoundError when absent. */
  get (chunkId: string, options?: AbortOptions): Promise<Uint8Array>
  /** Every chunk id the node holds under the session's commitment, ascending. */
  list (options?: AbortOptions): Promise<string[]>
  /**
   * Sampled leaves of chunk `chunkId` (read sessions) with their Merkle inclusion paths,
   * in the order asked (ProtocolError otherwise); the caller verifies them against the
   * root it knows. NotFoundError when absent. Absent where the adapter cannot audit:
   * the caller reads the whole chunk instead.
   */
  audit? (chunkId: string, leaves: number[], options?: AbortOptions): Promise<AuditProof>
  /**
   * Proof-gated delete (sessions opened with action 'delete'); whether the bytes left
   * the node (false: another owner still stores the same chunk). Deleting what is not
   * there (any more) is NotFoundError, so a repeated delete tells the caller it was done.
   */
  delete (chunkId: string, options?: AbortOptions): Promise<{ bytesRemoved: boolean }>
  /**
   * Renews the leases of the records of `chunkIds` (at most 1,000) whose delete
   * commitment or lease commitment is the session's (delete sessions, opened with a
   * delete secret or the lease secret; protocol-spec/leases.md): resolves to the node's
   * new expiry (its clock, unix ms), the ids it holds no such record of, and whether it
   * keeps lease commitments at all (`leaseCommitments`; false from nodes before them,
   * which renew under D only). With `lease`, the records renewed under their D get it
   * as their lease commitment. Absent where the adapter cannot renew; a node from
   * before leases refuses it (MalformedMessageError, the session ends) and keeps its
   * records without a lease.
   */
  renew? (chunkIds: string[], options?: AbortOptions & { lease?: string }): Promise<RenewAnswer>
  close (options?: AbortOptions): Promise<void>
}

/**
 * FederationClient: how owner workflows reach storage nodes. The libp2p adapter proves
 * ownership with the Groth16 prover; a test adapter may keep everything in memory.
 *
 * Contract:
 * - `candidates` lists the federation's storage nodes other than this one, reachable
 *   or not, with their announced free space; it never throws for an empty federation.
 * - `openStore`/`openSession` reject with PeerUnreachableError when no stream to the
 *   node can be opened (no address, refused, dial timed out, protocol not spoken;
 *   the cause is kept) so the caller fails over to another holder, and with
 *   InvalidInputError for a string that is not a peer id.
 * - `openSession` proves knowledge of `secret` to the node: InvalidProofError when the
 *   node does not accept the proof, ExpiredError when the challenge ran out first.
 *   The secret never leaves this node.
 * - Every method honours its AbortSignal: an aborted call rejects with AbortError
 *   (the cause is the signal's reason), whatever stage it had reached.
 * - Everything a node returns is verified before it is handed out: chunk ids against
 *   data, receipts against the node's key.
 * - Only the error classes named in this file leave an adapter: transport errors are
 *   translated, with the original kept as `cause`.
 */
export interface FederationClient {
  candidates (options?: AbortOptions): Promise<StorageCandidate[]>
  openStore (peerId: string, options?: AbortOptions): Promise<StoreChannel>
  openSession (peerId: string, proof: { action: ProofAction, secret: bigint }, options?: AbortOptions): Promise<ProvenSession>
}
