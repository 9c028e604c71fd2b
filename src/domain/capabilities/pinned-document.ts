import { pinMatches, type ReadCapability } from './file-capabilities.ts'
import { splitSignedBody, verifyBody } from './signed-body.ts'

/**
 * Opens a signed document (a manifest, a tree) as a read capability must: the
 * document names its writer key, the key must be the one the capability pins, and the
 * signature under `label` must verify. `decode` reads the document strictly; what it
 * returns is believed only after both checks. `refuse` makes the caller's error.
 */
export function openPinnedDocument<T extends { writer: string }> (
  body: Uint8Array, read: ReadCapability, label: string, decode: (document: Uint8Array) => T, refuse: (reason: string) => Error
): T {
  const signed = splitSignedBody(body)
  if (signed === undefined) throw refuse('it carries no signature')
  const document = decode(signed.document)
  const writer = Buffer.from(document.writer, 'hex')
  if (!pinMatches(read.writerPin, writer)) throw refuse('it is signed by a key the capability does not name')
  if (!verifyBody(label, writer, signed)) throw refuse('its signature does not verify')
  return document
}
