import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { AbortError, defineError } from '../../../errors.ts'
import { PeerTimeoutError, ProtocolError } from '../../../domain/protocol/federation-errors.ts'

/** The peer did not read what was sent within the drain deadline: the stream is dropped, not answered. */
export const WriteStalledError = defineError('WriteStalledError', 'write-stalled', PeerTimeoutError)

/** The part of a libp2p stream that sending with back-pressure needs. */
export type WritableStream = Pick<Stream, 'send' | 'writableNeedsDrain' | 'status' | 'addEventListener' | 'removeEventListener'>

/**
 * Sends `bytes` and, when the stream says its buffer is full, waits until it can take
 * more, so a slow reader holds at most about one call's bytes in our write buffer.
 *
 * `stream.onDrain()` cannot be used for this: @libp2p/utils 7.4.1 keeps the promise of
 * the first drain and hands it out, already resolved, for every later wait, so a send
 * loop queues without limit. We wait for the next 'drain' event ourselves, and only
 * settle once the stream's own drain handler has flushed its queue without filling the
 * transport again: a drain that lets a few KiB out of a full window is not room for
 * another frame.
 *
 * Rejects with AbortError when `signal` fires, ProtocolError when the stream closes
 * while waiting, and WriteStalledError (a PeerTimeoutError) when it has not drained after `drainTimeoutMs`
 * (a peer that never reads holds the bytes for no longer than that); either way no
 * listener is left behind.
 */
export async function sendWithBackPressure (stream: WritableStream, bytes: Uint8Array | Uint8ArrayList, signal?: AbortSignal, drainTimeoutMs?: number): Promise<void> {
  if (stream.send(bytes)) return
  await waitUntilWritable(stream, signal, drainTimeoutMs)
}

/** Resolves once `stream.writableNeedsDrain` is false after a 'drain' (or at once). */
export async function waitUntilWritable (stream: WritableStream, signal?: AbortSignal, drainTimeoutMs?: number): Promise<void> {
  if (signal?.aborted === true) throw new AbortError('sending was aborted', { cause: signal.reason })
  if (stream.status !== 'open') throw new ProtocolError(`cannot send on a stream that is ${stream.status}`)
  if (!stream.writableNeedsDrain) return
  let resolve = (): void => {}
  let reject = (_err: Error): void => {}
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  let settled = false
  const onDrain = (): void => {
    // The stream's drain handler (registered first) clears the flag and flushes its
    // queue in a microtask queued before ours; look at the flag after that flush.
    queueMicrotask(() => { if (!settled && !stream.writableNeedsDrain) resolve() })
  }
  const onClose = (event: Event): void => {
    const cause = (event as Event & { error?: Error }).error
    reject(new ProtocolError('the stream closed before its data could be sent', { cause }))
  }
  const onAbort = (): void => { reject(new AbortError('sending was aborted', { cause: signal?.reason })) }
  stream.addEventListener('drain', onDrain)
  stream.addEventListener('close', onClose)
  signal?.addEventListener('abort', onAbort)
  const timer = drainTimeoutMs === undefined ? undefined : setTimeout(() => { reject(new WriteStalledError(`the peer read nothing for ${drainTimeoutMs} ms`)) }, drainTimeoutMs)
  try {
    await promise
  } finally {
    clearTimeout(timer)
    settled = true
    stream.removeEventListener('drain', onDrain)
    stream.removeEventListener('close', onClose)
    signal?.removeEventListener('abort', onAbort)
  }
}
