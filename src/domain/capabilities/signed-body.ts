import { ed25519Engine } from './ed25519.ts'
import type { WriteKey } from './file-capabilities.ts'

/**
 * A signed body: the bytes of a manifest or a catalogue generation followed by the
 * writer's Ed25519 signature (RFC 8032, pure Ed25519) over
 *
 *   ASCII(label) || 0x00 || document
 *
 * The label names the kind of document (a manifest signature never verifies as a
 * catalogue's); the signature is the last 64 bytes, so the document needs no framing.
 */

export const SIGNATURE_BYTES = 64

const utf8 = new TextEncoder()

export interface SignedBody {
  document: Uint8Array
  signature: Uint8Array
}

/** `document || signature`. */
export function signBody (label: string, key: WriteKey, document: Uint8Array): Uint8Array {
  const signature = ed25519Engine().sign(signedMessage(label, document), key.seed)
  const body = new Uint8Array(document.byteLength + SIGNATURE_BYTES)
  body.set(document, 0)
  body.set(signature, document.byteLength)
  return body
}

/** The document and signature of `body`; undefined when it is too short to hold a signature. */
export function splitSignedBody (body: Uint8Array): SignedBody | undefined {
  if (body.byteLength < SIGNATURE_BYTES) return undefined
  return { document: body.subarray(0, body.byteLength - SIGNATURE_BYTES), signature: body.subarray(body.byteLength - SIGNATURE_BYTES) }
}

/** Whether `signature` is `publicKey`'s over `label` and `document`; never throws. */
export function verifyBody (label: string, publicKey: Uint8Array, signed: SignedBody): boolean {
  return ed25519Engine().verify(signed.signature, signedMessage(label, signed.document), publicKey)
}

function signedMessage (label: string, document: Uint8Array): Uint8Array {
  const prefix = utf8.encode(label)
  const message = new Uint8Array(prefix.byteLength + 1 + document.byteLength)
  message.set(prefix, 0)
  message.set(document, prefix.byteLength + 1)
  return message
}
