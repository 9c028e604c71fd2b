import { fieldElementFromDecimal } from '../proofs/field-element.ts'
import type { ChunkId } from './chunk-id.ts'
import { parseChunkId } from './chunk-id.ts'

/**
 * Strict reading of decoded JSON (manifests, catalogues): every value has exactly the
 * expected type and range, objects have exactly the expected keys, and each failure is
 * the caller's typed error, naming the field. Nothing from outside is trusted before it
 * passed through here, and nothing unknown is silently kept: a format change gets a new
 * version number instead of extra keys that old readers would drop.
 */

/** Builds the caller's typed error for a field that fails a check. */
export type Invalid = (reason: string) => Error

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export class FieldReader {
  private readonly invalid: Invalid

  constructor (invalid: Invalid) {
    this.invalid = invalid
  }

  /** Fails with `reason` about `what`. */
  fail (what: string, reason: string): Error {
    return this.invalid(`${what}: ${reason}`)
  }

  /** A plain object with all of `required` and no keys but those and `optional`. */
  object (value: unknown, what: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.fail(what, 'must be an object')
    const record = value as Record<string, unknown>
    for (const key of required) {
      if (!Object.hasOwn(record, key)) throw this.fail(what, `missing field "${key}"`)
    }
    for (const key of Object.keys(record)) {
      if (!required.includes(key) && !optional.includes(key)) throw this.fail(what, `unknown field "${key.slice(0, 40)}"`)
    }
    return record
  }

  /** An array of at most `maxLength` elements. */
  array (value: unknown, what: string, maxLength = Number.MAX_SAFE_INTEGER): unknown[] {
    if (!Array.isArray(value)) throw this.fail(what, 'must be an array')
    if (value.length > maxLength) throw this.fail(what, `at most ${maxLength} elements, got ${value.length}`)
    return value
  }

  /** An integer in [min, max]. */
  integer (value: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw this.fail(what, `must be an integer in [${min}, ${max}]`)
    }
    return value
  }

  /** A finite number (JSON has no NaN or Infinity, but callers encoding objects might). */
  finite (value: unknown, what: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.fail(what, 'must be a finite number')
    return value
  }

  /** A string of at most `maxLength` UTF-16 units. */
  string (value: unknown, what: string, maxLength = 4096): string {
    if (typeof value !== 'string') throw this.fail(what, 'must be a string')
    if (value.length > maxLength) throw this.fail(what, `at most ${maxLength} characters`)
    return value
  }

  /** Exactly `expected`. */
  literal<T extends string | number> (value: unknown, what: string, expected: readonly T[]): T {
    if (!expected.includes(value as T)) throw this.fail(what, `must be ${expected.map((e) => JSON.stringify(e)).join(' or ')}`)
    return value as T
  }

  /** `bytes` bytes as lowercase hex (the canonical spelling: one value, one string). */
  hex (value: unknown, what: string, bytes: number): string {
    const text = this.string(value, what, bytes * 2)
    if (text.length !== bytes * 2 || !/^[0-9a-f]*$/.test(text)) throw this.fail(what, `must be ${bytes * 2} lowercase hex digits`)
    return text
  }

  /** Canonical padded base64 (RFC 4648 section 4) of between 1 and `maxBytes` bytes. */
  base64 (value: unknown, what: string, maxBytes: number): string {
    const text = this.string(value, what, Math.ceil(maxBytes / 3) * 4)
    if (text === '' || !BASE64.test(text)) throw this.fail(what, 'must be padded base64')
    // canonical: the unused bits of the last symbol are zero, so one value has one spelling
    if (Buffer.from(text, 'base64').toString('base64') !== text) throw this.fail(what, 'must be canonical base64')
    return text
  }

  /** A BN254 field element in canonical decimal (a commitment), as field-element.ts spells it. */
  decimal (value: unknown, what: string): string {
    const text = this.string(value, what, 80)
    try {
      fieldElementFromDecimal(text, what)
    } catch (err) {
      throw this.fail(what, `must be a decimal field element (${(err as Error).message})`)
    }
    return text
  }

  /** A chunk id in its canonical form (chunk-id.ts). */
  chunkId (value: unknown, what: string): ChunkId {
    try {
      return parseChunkId(this.string(value, what, 128))
    } catch (err) {
      throw this.fail(what, `must be a chunk id (${(err as Error).message})`)
    }
  }
}
