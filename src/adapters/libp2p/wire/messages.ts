import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { protobufCodec, type MessageCodec } from './protobuf-codec.ts'

export type { MessageCodec } from './protobuf-codec.ts'

// The schema is protocol-spec/quloud.proto itself, so spec and code cannot drift.
const root = protobuf.loadSync(fileURLToPath(new URL('../../../../protocol-spec/quloud.proto', import.meta.url)))
const type = (name: string): protobuf.Type => root.lookupType(`quloud.wire.v2.${name}`)

/** The ErrorCode enum of quloud.proto: name -> number, as the schema defines it. */
export const WIRE_ERROR_CODES: Readonly<Record<string, number>> = root.lookupEnum('quloud.wire.v2.ErrorCode').values

export interface WireError { code: number, message: string, chunkId: string }
export interface Receipt {
  kind: number
  node: Uint8Array
  chunkId: string
  commitment: string
  deleteCommitment: string
  timeMs: number
  bytesRemoved: boolean
  signature: Uint8Array
}
/** `leaseCommitment`: the owner's lease commitment L, kept by a record this request creates (protocol-spec/leases.md). */
export interface StoreRequest { chunkId: string, commitment: string, deleteCommitment: string, data: Uint8Array, leaseCommitment?: string }
/** `roomLeft`: bytes the node would still take from the requester (protocol-spec/store.md, "Room left"). */
export type StoreResponse = ({ receipt: Receipt, error?: undefined } | { error: WireError, receipt?: undefined }) & { roomLeft?: number }
export type SessionRequest =
  | { hello: { commitment: string } }
  | { proof: { proof: Uint8Array } }
  | { get: { chunkId: string } }
  | { delete: { chunkId: string } }
  | { list: { after: string } }
  | { audit: { chunkId: string, leaves: number[] } }
  | { renew: { chunkIds: string[], leaseCommitment?: string } }
export interface AuditLeafMessage { index: number, data: Uint8Array, path: Uint8Array[] }
export interface AuditProofMessage { chunkId: string, leafCount: number, leaves: AuditLeafMessage[] }
export type SessionResponse =
  | { challenge: { nonce: Uint8Array, expiresAtMs: number } }
  | { ready: { expiresAtMs: number } }
  | { chunk: { chunkId: string, data: Uint8Array } }
  | { receipt: Receipt }
  | { error: WireError }
  | { chunkList: { chunkIds: string[], more: boolean } }
  | { auditProof: AuditProofMessage }
  | { renewed: { expiresAtMs: number, missing: string[], leaseCommitments?: boolean } }

export const RECEIPT_STORED = 1
export const RECEIPT_DELETED = 2

function codec<T> (name: string, oneof?: string): MessageCodec<T> {
  return protobufCodec<T>(type(name), oneof)
}

export const StoreRequestCodec = codec<StoreRequest>('StoreRequest')
/** SessionResponse.chunk's message alone, for framing a chunk answer around its bytes. */
export const ChunkDataCodec = codec<{ chunkId: string, data: Uint8Array }>('ChunkData')
export const StoreResponseCodec = codec<StoreResponse>('StoreResponse', 'result')
export const SessionRequestCodec = codec<SessionRequest>('SessionRequest', 'body')
export const SessionResponseCodec = codec<SessionResponse>('SessionResponse', 'body')
export const ReceiptCodec = codec<Receipt>('Receipt')
