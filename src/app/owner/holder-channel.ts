import { AbortError, isErrorOf, TooLargeError } from '../../errors.ts'
import { CapacityFullError, ChunkIdMismatchError, MalformedMessageError, QuotaExceededError } from '../../domain/protocol/federation-errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { FederationClient, StoreChannel, StoredReceipt } from '../../ports/federation-client.ts'

/** Refusals about the request itself: sending it again, anywhere, changes nothing. */
const FINAL = [QuotaExceededError, CapacityFullError, ChunkIdMismatchError, TooLargeError, MalformedMessageError, AbortError]

/** How often a broken store stream to one holder is reopened during one file. */
const MAX_REOPENS = 2

/**
 * A store stream to one holder that survives a broken stream: when a store fails for
 * a reason other than a refusal of the request, the stream is reopened (once for all
 * the chunks that were in flight on it) and the chunk sent again, up to MAX_REOPENS
 * times. Networks drop streams; a put should not lose a holder to one hiccup.
 */
export class HolderChannel {
  readonly peer: string
  private readonly federation: FederationClient
  private readonly options: AbortOptions | undefined
  private channel: Promise<StoreChannel>
  private reopens = 0

  private constructor (peer: string, federation: FederationClient, options: AbortOptions | undefined) {
    this.peer = peer
    this.federation = federation
    this.options = options
    this.channel = federation.openStore(peer, options)
    this.channel.catch(() => {})
  }

  /** Opens the stream; rejects when the holder cannot be reached at all. */
  static async open (peer: string, federation: FederationClient, options?: AbortOptions): Promise<HolderChannel> {
    const holder = new HolderChannel(peer, federation, options)
    await holder.channel
    return holder
  }

  async store (chunk: { chunkId: string, commitment: string, data: Uint8Array }): Promise<StoredReceipt> {
    for (;;) {
      const current = this.channel
      try {
        return await (await current).store(chunk)
      } catch (err) {
        if (this.options?.signal?.aborted === true || isErrorOf(err, FINAL)) throw err
        if (this.channel === current) {
          if (this.reopens >= MAX_REOPENS) throw err
          this.reopens++
          void current.then(async (c) => c.close()).catch(() => {})
          this.channel = this.federation.openStore(this.peer, this.options)
          this.channel.catch(() => {})
        }
      }
    }
  }

  async close (): Promise<void> {
    await (await this.channel.catch(() => undefined))?.close().catch(() => {})
  }
}
