import { Uint8ArrayList } from 'uint8arraylist'
import { sendWithBackPressure, type WritableStream } from './send-with-back-pressure.ts'
import type { TokenBucket } from './token-bucket.ts'

/**
 * Upload slices: the unit in which streams sharing the uplink take turns. Small enough
 * that three holders of one put each see bytes every few hundred milliseconds on a slow
 * link (their frame deadline wants 16 KiB/s per stream), large enough to cost nothing.
 */
export const SLICE_BYTES = 16 * 1024

/** The burst of a limit of `bytesPerSecond`: a tenth of a second, so the rate holds over any longer window. */
export function burstOf (bytesPerSecond: number): number {
  return Math.max(SLICE_BYTES, bytesPerSecond / 10)
}

/** Limits and counters of Quloud protocol traffic, shared by every stream of the node. */
export class TrafficLimit {
  readonly upload: TokenBucket | undefined
  readonly download: TokenBucket | undefined
  /** Bytes sent and received on Quloud protocol streams since the node started. */
  sent = 0
  received = 0

  constructor (buckets: { upload?: TokenBucket, download?: TokenBucket }) {
    this.upload = buckets.upload
    this.download = buckets.download
  }

  close (): void {
    this.upload?.close()
    this.download?.close()
  }
}

/**
 * The node's limit. Process-wide because the wire code below the protocol handlers and
 * clients has no handle on the node that owns a stream; a daemon runs one node per
 * process. In-process test federations leave it unset (no limit, nothing counted).
 */
let installed: TrafficLimit | undefined

/** Installs `limit` for every Quloud stream of this process; returns the uninstaller. */
export function installTrafficLimit (limit: TrafficLimit): () => void {
  installed = limit
  return () => {
    if (installed === limit) installed = undefined
    limit.close()
  }
}

/**
 * Sends like sendWithBackPressure, paced by the node's upload limit: slice by slice,
 * each slice waiting its turn in the shared bucket, so a put over a slow uplink keeps
 * every holder's stream moving instead of sending one holder a whole frame while the
 * others starve past their deadlines.
 */
export async function sendPaced (stream: WritableStream, data: Uint8ArrayList, signal?: AbortSignal, drainTimeoutMs?: number): Promise<void> {
  const limit = installed
  if (limit === undefined) {
    await sendWithBackPressure(stream, data, signal, drainTimeoutMs)
    return
  }
  limit.sent += data.byteLength
  if (limit.upload === undefined) {
    await sendWithBackPressure(stream, data, signal, drainTimeoutMs)
    return
  }
  for (let offset = 0; offset < data.byteLength; offset += SLICE_BYTES) {
    const slice = data.sublist(offset, Math.min(data.byteLength, offset + SLICE_BYTES))
    await limit.upload.take(slice.byteLength, signal)
    await sendWithBackPressure(stream, new Uint8ArrayList(...slice), signal, drainTimeoutMs)
  }
}

/**
 * Hands a received frame on once the node's download limit lets it through. The frame
 * has arrived, but while its reader waits the next ones pile up unread, PacedReader
 * pauses the stream at its high-water mark and yamux stops granting the sender window:
 * the peer slows to the limit instead of filling our memory.
 */
export async function receivePaced<T extends { byteLength: number }> (frame: T, signal?: AbortSignal): Promise<T> {
  const limit = installed
  if (limit === undefined) return frame
  limit.received += frame.byteLength
  if (limit.download !== undefined) {
    await limit.download.take(frame.byteLength, signal)
    // and until the frame is paid for: a chunk frame is many times the burst, and handing
    // it on in debt would let the last frames of every transfer through unpaced
    await limit.download.take(0, signal)
  }
  return frame
}

/** What `status` shows of the node's limit: null where unlimited. */
export function trafficLimitStatus (limit: TrafficLimit | undefined): { upload: number | null, download: number | null, sent: number, received: number } {
  return { upload: limit?.upload?.bytesPerSecond ?? null, download: limit?.download?.bytesPerSecond ?? null, sent: limit?.sent ?? 0, received: limit?.received ?? 0 }
}
