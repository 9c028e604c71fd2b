// Back-pressure for the raw streams the benchmarks measure against. @libp2p/utils
// 7.4.1's `stream.onDrain()` keeps its first resolved promise, so after one drain
// every later await returns at once and a send loop queues the whole file in memory
// (and measures a flattering raw figure). This waits for the next 'drain' event.
import type { Stream } from '@libp2p/interface'

/** Sends `data`; when the stream's buffer is full, waits until it drains (or the stream closes). */
export async function sendPaced (stream: Stream, data: Uint8Array): Promise<void> {
  if (stream.send(data)) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.removeEventListener('drain', done)
      stream.removeEventListener('close', done)
      resolve()
    }
    stream.addEventListener('drain', done)
    stream.addEventListener('close', done)
  })
}
