import { defineError, InvalidInputError, TooLargeError } from '../../errors.ts'
import { AesGcmEnvelope, ENVELOPE_OVERHEAD } from '../../domain/crypto/aes-gcm-envelope.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import { MAX_STORED_CHUNK_BYTES, type ChunkId } from '../../domain/formats/chunk-id.ts'
import type { ChunkStore } from '../../ports/chunk-store.ts'
import { KeyedMutex } from '../../util/keyed-mutex.ts'
import { checkCall } from './checks.ts'

export interface AtRestEncryptedChunkStoreInit {
  /** The store that keeps the sealed values; this wrapper owns it and closes it. */
  inner: ChunkStore
  /** The node's at-rest key, `nodeAtRestKey(nodeSecret)` (32 bytes). */
  key: Uint8Array
}

export const AT_REST_FORMAT_VERSION = 1

/** Bytes the wrapper adds to every value (version, nonce, tag). */
export const AT_REST_OVERHEAD = ENVELOPE_OVERHEAD

/** The largest value the wrapper accepts: its sealed form must fit the inner store. */
export const MAX_AT_REST_VALUE_BYTES = MAX_STORED_CHUNK_BYTES - AT_REST_OVERHEAD

/** A stored value does not open under this node's key for its id: corrupted, swapped, or another key's. */
export const AtRestDecryptionError = defineError('AtRestDecryptionError', 'at-rest-decryption')
export type AtRestDecryptionError = InstanceType<typeof AtRestDecryptionError>

const LABEL = new TextEncoder().encode('quloud/v1/at-rest-chunk')

/**
 * The node layer of protection: every value is sealed with AES-256-GCM under the node's
 * at-rest key before the inner adapter sees a byte, so the medium (disk, backup, a
 * stolen drive) holds only ciphertext, and deleting the node secret shreds it all.
 *
 *   stored = 0x01 || nonce (12) || ciphertext || tag (16)
 *   AAD    = 0x01 || "quloud/v1/at-rest-chunk" || 0x00 || chunk id (ASCII)
 *
 * Binding the id means a value copied or swapped to another id on the medium fails to
 * open (AtRestDecryptionError) instead of being served as that chunk. Nonces are random
 * per put (aes-gcm-envelope.ts): never derived from the id, because the same id can be
 * put again with other bytes and a repeated (key, nonce) would break GCM. The bound of
 * 2^32 seals per key is 4 PiB of 1 MiB chunks written over the node's life.
 *
 * `usedBytes` reports the callers' byte counts, as the port requires: the inner
 * store's count minus 29 bytes per stored value. The number of values is counted once
 * (an `ids` scan, writes held back meanwhile) and kept by put and delete, which is why
 * the wrapper must be the inner store's only writer.
 */
export class AtRestEncryptedChunkStore implements ChunkStore {
  private readonly inner: ChunkStore
  private readonly envelope: AesGcmEnvelope
  private readonly locks = new KeyedMutex()
  private readonly writes = new Set<Promise<unknown>>()
  private closed = false
  private count: number | undefined
  private counting: Promise<number> | undefined
  private gate: Promise<void> | undefined

  constructor (init: AtRestEncryptedChunkStoreInit) {
    this.inner = init.inner
    this.envelope = new AesGcmEnvelope(init.key, AT_REST_FORMAT_VERSION)
  }

  async put (id: ChunkId, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, id, options?.signal)
    if (!(bytes instanceof Uint8Array)) throw new InvalidInputError('a chunk value must be a Uint8Array')
    if (bytes.byteLength > MAX_AT_REST_VALUE_BYTES) {
      throw new TooLargeError(`chunk of ${bytes.byteLength} bytes exceeds ${MAX_AT_REST_VALUE_BYTES} (the inner store's limit less ${AT_REST_OVERHEAD} bytes of encryption)`)
    }
    const sealed = this.envelope.seal(aadOf(id), bytes)
    await this.write(id, async () => {
      const existed = await this.inner.has(id, options)
      await this.inner.put(id, sealed, options)
      if (!existed && this.count !== undefined) this.count++
    })
  }

  async get (id: ChunkId, options?: AbortOptions): Promise<Uint8Array> {
    checkCall(this.closed, id, options?.signal)
    const sealed = await this.inner.get(id, options)
    return this.envelope.open(aadOf(id), sealed, (reason, cause) =>
      new AtRestDecryptionError(`stored chunk ${id} does not open: ${reason}`, { cause }))
  }

  async has (id: ChunkId, options?: AbortOptions): Promise<boolean> {
    checkCall(this.closed, id, options?.signal)
    return this.inner.has(id, options)
  }

  async delete (id: ChunkId, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, id, options?.signal)
    await this.write(id, async () => {
      const existed = await this.inner.has(id, options)
      await this.inner.delete(id, options)
      if (existed && this.count !== undefined) this.count--
    })
  }

  async * ids (options?: AbortOptions): AsyncIterable<ChunkId> {
    checkCall(this.closed, undefined, options?.signal)
    yield * this.inner.ids(options)
  }

  async usedBytes (options?: AbortOptions): Promise<number> {
    checkCall(this.closed, undefined, options?.signal)
    const count = this.count ?? await (this.counting ??= this.countValues())
    return await this.inner.usedBytes(options) - count * AT_REST_OVERHEAD
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.allSettled([...this.writes])
    await this.inner.close()
  }

  /** Runs a put or delete: one at a time per id, and not while values are counted. */
  private async write (id: ChunkId, fn: () => Promise<void>): Promise<void> {
    while (this.gate !== undefined) await this.gate
    const work = this.locks.run(id, fn)
    this.writes.add(work)
    try {
      await work
    } finally {
      this.writes.delete(work)
    }
  }

  private async countValues (): Promise<number> {
    let release = (): void => {}
    this.gate = new Promise((resolve) => { release = resolve })
    try {
      await Promise.allSettled([...this.writes])
      let n = 0
      for await (const _ of this.inner.ids()) n++
      this.count = n
      return n
    } finally {
      this.gate = undefined
      this.counting = undefined
      release()
    }
  }
}

function aadOf (id: ChunkId): Uint8Array {
  const aad = new Uint8Array(1 + LABEL.byteLength + 1 + id.length)
  aad[0] = AT_REST_FORMAT_VERSION
  aad.set(LABEL, 1)
  // ids are ASCII (isChunkId), one byte per character
  for (let i = 0; i < id.length; i++) aad[LABEL.byteLength + 2 + i] = id.charCodeAt(i)
  return aad
}
