import type { ProofAction } from '../domain/proofs/proof-context.ts'
import type { AbortOptions } from './abort-options.ts'

/** A storage node the owner may place chunks on, as the peer book knows it. */
export interface StorageCandidate {
  peerId: string
  /** Free bytes the node last announced. */
  freeBytes: number
  /** Whether its last liveness probes succeeded. */
  reachable: boolean
}

/** What the owner keeps of a storage node's signed receipt. */
export interface StoredReceipt {
  peerId: string
  chunkId: string
  timeMs: number
  /** Base64 Ed25519 signature over the receipt's canonical bytes (protocol-spec/README.md). */
  signature: string
}

/** A store stream to one node; `store` may be called concurrently (pipelined). */
export interface StoreChannel {
  /** Resolves to the node's verified receipt; rejects with the node's typed refusal. */
  store (chunk: { chunkId: string, commitment: string, data: Uint8Array }): Promise<StoredReceipt>
  close (): Promise<void>
}

/** A proven session with one node for one commitment; calls may be concurrent. */
export interface ProvenSession {
  /** Owner ciphertext, already checked against its id. NotFoundError when absent. */
  get (chunkId: string): Promise<Uint8Array>
  /** Every chunk id the node holds under the session's commitment. */
  list (): Promise<string[]>
  /** Proof-gated delete (sessions opened with action 'delete'); the bytes-removed flag. */
  delete (chunkId: string): Promise<{ bytesRemoved: boolean }>
  close (): Promise<void>
}

/**
 * FederationClient: how owner workflows reach storage nodes. The libp2p adapter proves
 * ownership with the Groth16 prover; a test adapter may keep everything in memory.
 *
 * Contract:
 * - `candidates` lists the federation's storage nodes other than this one, reachable
 *   or not, with their announced free space; it never throws for an empty federation.
 * - `openStore`/`openSession` reject with a typed error when the node cannot be
 *   reached (the caller fails over to another holder) or refuses the proof
 *   (InvalidProofError); they honour the AbortSignal.
 * - Everything a node returns is verified before it is handed out: chunk ids against
 *   data, receipts against the node's key.
 */
export interface FederationClient {
  candidates (options?: AbortOptions): Promise<StorageCandidate[]>
  openStore (peerId: string, options?: AbortOptions): Promise<StoreChannel>
  openSession (peerId: string, proof: { action: ProofAction, secret: bigint }, options?: AbortOptions): Promise<ProvenSession>
}
