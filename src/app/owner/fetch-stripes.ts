import type { Manifest } from '../../domain/formats/manifest.ts'
import type { OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import { formatScheme, shardIndex, shardsPerStripe, stripeBytes, type ErasureScheme } from '../../domain/formats/stripe-layout.ts'
import type { ErasureCodec } from '../../ports/erasure-codec.ts'
import { UnsupportedErasureSchemeError } from '../../domain/formats/stripe-errors.ts'
import type { Logger } from '../../ports/logger.ts'
import { FileUnavailableError } from './fetch-file.ts'
import { inParallel } from './in-parallel.ts'
import type { PeerSessions } from './peer-sessions.ts'

/** Where restored bytes go: `bytes` at offset `position` of the file. */
export type WriteAt = (bytes: Uint8Array, position: number) => Promise<void>

/** Shard bytes asked for at once, in whole stripes and at least two (as put-stripes.ts sends them). */
const BYTES_IN_FLIGHT = 24 * 1024 * 1024
/**
 * Shards asked beyond k per stripe: the first k that verify are used and the slowest
 * is left behind (Storj's long-tail cut), for 1/k more traffic than the file's size.
 */
export const EXTRA_SHARD_REQUESTS = 1

export interface StripeReader {
  sessions: PeerSessions
  log: Logger
  manifest: Manifest
  cipher: OwnerChunkCipher
  /** The file's retrieval secret: shards are read under its commitment. */
  secret: bigint
  codec: ErasureCodec | undefined
}

/**
 * Restores an erasure-coded file (version 3 manifest): a few stripes at once
 * (BYTES_IN_FLIGHT), each from the first k of its shards to arrive that match their
 * id (checked by the session) and open at their place (owner-layer AEAD), decoded and
 * handed to `write` without the last stripe's padding. A stripe with fewer than k such shards
 * fails the get with FileUnavailableError, after the stripes in flight settle.
 */
export async function fetchStripes (reader: StripeReader, write: WriteAt): Promise<void> {
  const { manifest, codec } = reader
  const scheme = manifest.erasure!
  if (codec === undefined) throw new UnsupportedErasureSchemeError(`${manifest.name} is erasure-coded (${formatScheme(scheme)}) and this node has no erasure codec`)
  const whole = stripeBytes(scheme, manifest.chunkSize)
  const stripes = manifest.chunks.length / shardsPerStripe(scheme)
  const busy = new Map<string, number>()
  const inFlight = Math.max(2, Math.floor(BYTES_IN_FLIGHT / ((scheme.data + EXTRA_SHARD_REQUESTS) * manifest.chunkSize)))
  await inParallel(Array.from({ length: stripes }, (_, s) => s), inFlight, async (stripe) => {
    const shards = await gatherShards(reader, scheme, stripe, busy)
    const bytes = await codec.decode(scheme, shards, { signal: reader.sessions.signal })
    const start = stripe * whole
    await write(bytes.subarray(0, Math.min(whole, manifest.size - start)), start)
  })
}

/**
 * The first k verified shards of `stripe`, `undefined` in the other slots. k +
 * EXTRA_SHARD_REQUESTS requests run at once; each failure starts the next slot (or the
 * same slot at its next holder). Slots are tried by how busy their holder is with this
 * file's earlier requests, those whose dial failed last: a slow holder accumulates
 * requests left behind and is asked less, so reads spread over every holder.
 * Requests left behind when k have arrived are not waited for; their bytes are dropped.
 */
export async function gatherShards (reader: StripeReader, scheme: ErasureScheme, stripe: number, busy: Map<string, number>): Promise<Array<Uint8Array | undefined>> {
  const { sessions, manifest, cipher, secret, log } = reader
  const n = shardsPerStripe(scheme)
  const last = manifest.chunks.length - 1
  const shards: Array<Uint8Array | undefined> = new Array(n).fill(undefined)
  const holders = Array.from({ length: n }, (_, j) => sessions.inOrder(manifest.holders[shardIndex(scheme, stripe, j)] ?? []))
  const queue = holders.flatMap((list, j) => list.length === 0 ? [] : [j])
  const failing = (j: number): boolean => sessions.isFailing(holders[j]![0]!)
  // chosen at each start, not once per stripe: stripes read at once then spread over every holder
  const next = (): number => {
    queue.sort((a, b) => Number(failing(a)) - Number(failing(b)) || (busy.get(holders[a]![0]!) ?? 0) - (busy.get(holders[b]![0]!) ?? 0) || a - b)
    return queue.shift()!
  }
  const failures: string[] = []
  let got = 0
  let active = 0
  let done = false

  return new Promise((resolve, reject) => {
    const launch = (): void => {
      while (!done && got + active < scheme.data + EXTRA_SHARD_REQUESTS && queue.length > 0) start(next())
      if (done) return
      if (got >= scheme.data) {
        done = true
        resolve(shards)
      } else if (active === 0 && queue.length === 0) {
        done = true
        reject(new FileUnavailableError(`stripe ${stripe} of ${manifest.name} has ${got} of the ${scheme.data} shards it needs on reachable holders (${failures.join('; ') || 'no holders'})`))
      }
    }
    const start = (j: number): void => {
      const peer = holders[j]!.shift()!
      const at = shardIndex(scheme, stripe, j)
      active++
      busy.set(peer, (busy.get(peer) ?? 0) + 1)
      sessions.get(peer, secret, manifest.chunks[at]!.id)
        .then((sealed) => {
          const plain = cipher.open(at, at === last, sealed)
          if (!done) {
            shards[j] = plain
            got++
          }
        }, (err: unknown) => {
          failures.push(`${peer}: ${(err as Error).message}`)
          log.debug(`shard ${j} of stripe ${stripe} of ${manifest.name} from ${peer} failed: ${(err as Error).message}`)
          if (holders[j]!.length > 0) queue.unshift(j)
        })
        .catch((err: unknown) => {
          // the shard came but does not open at its place: a wrong or damaged shard, never used
          failures.push(`${peer}: ${(err as Error).message}`)
          if (holders[j]!.length > 0) queue.unshift(j)
        })
        .finally(() => {
          active--
          busy.set(peer, busy.get(peer)! - 1)
          launch()
        })
    }
    launch()
  })
}
