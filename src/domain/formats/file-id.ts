import { randomBytes } from 'node:crypto'
import { defineError } from '../../errors.ts'

/**
 * A file id: 16 random bytes chosen by the owner when a file is first stored. It names
 * the file in the owner's catalogue and binds the per-file keys (key-derivation.ts) and
 * every owner-layer chunk (owner-layer.ts) to that file. Storage nodes never see it.
 *
 * 128 random bits make a collision between two of one owner's files negligible
 * (~2^-64 after 2^32 files), which matters because two files sharing an id would share
 * their content key.
 *
 * Text form: 32 lowercase hex digits.
 */
export type FileId = Uint8Array

export const FILE_ID_BYTES = 16

/** The text is not 32 hex digits. */
export const InvalidFileIdError = defineError('InvalidFileIdError', 'invalid-file-id')
export type InvalidFileIdError = InstanceType<typeof InvalidFileIdError>

const HEX = /^[0-9a-f]{32}$/i

/** A fresh random file id; `random` is injectable so tests can fix it. */
export function newFileId (random: (n: number) => Uint8Array = randomBytes): FileId {
  const id = Uint8Array.from(random(FILE_ID_BYTES))
  if (id.byteLength !== FILE_ID_BYTES) throw new InvalidFileIdError(`a file id is ${FILE_ID_BYTES} bytes`)
  return id
}

export function isFileId (value: unknown): value is FileId {
  return value instanceof Uint8Array && value.byteLength === FILE_ID_BYTES
}

/** 32 lowercase hex digits. */
export function fileIdToString (id: FileId): string {
  if (!isFileId(id)) throw new InvalidFileIdError(`a file id is ${FILE_ID_BYTES} bytes`)
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')
}

/** Parses 32 hex digits (either case); anything else is an InvalidFileIdError. */
export function parseFileId (text: string): FileId {
  if (typeof text !== 'string' || !HEX.test(text)) {
    throw new InvalidFileIdError(`not a file id (32 hex digits): ${JSON.stringify(String(text).slice(0, 40))}`)
  }
  return Uint8Array.from(Buffer.from(text, 'hex'))
}
