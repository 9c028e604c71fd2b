/**
 * Serves a stream of requests with up to `window` of them being worked on at once,
 * writing the responses in request order. A storage node's work per chunk is mostly
 * waiting (fsync, disk reads), so handling requests one by one would leave a
 * pipelining client waiting on each chunk's disk latency in turn.
 *
 * `next` returns undefined at the end of the requests. `handle` turns a request into
 * its response and rejects only for failures that must end the stream. `write` is
 * given the responses due that are ready together, in order (at most `window`), to send
 * as one message: below the frame, the muxer, Noise and the socket each cost per message,
 * and yamux answers every data frame with a window update. When `next` or
 * `handle` fails, the responses already due are written first, then the error is
 * thrown. When `write` fails, reading stops: no request is handled after that, though
 * the one `next` may still be waiting for is not interrupted (the caller aborts the
 * stream for that).
 */
export async function respondInOrder<Req, Res> (
  next: () => Promise<Req | undefined>,
  handle: (request: Req) => Promise<Res>,
  write: (responses: Res[]) => Promise<void>,
  window: number,
  /**
   * The most answers one write is given. 1 where answers hold large buffers (chunks):
   * an answer stays referenced until its whole write returns, so joining them would keep
   * bytes the budget already counts as released.
   */
  maxJoined = window
): Promise<void> {
  const pending: Array<{ response: Promise<Res>, settled: boolean }> = []
  let readFailure: { error: unknown } | undefined
  let readDone = false
  let wakeReader: (() => void) | undefined
  let wakeWriter: (() => void) | undefined
  let stopped = false

  const reader = (async () => {
    try {
      for (;;) {
        while (pending.length >= window && !stopped) await new Promise<void>((resolve) => { wakeReader = resolve })
        if (stopped) return
        const request = await next()
        // a request read while the writer failed gets no answer, so it must not be
        // acted on either (a store nobody hears about is still a write)
        if (request === undefined || stopped) return
        const entry = { response: handle(request), settled: false }
        // observed by the writer in order
        entry.response.then(() => { entry.settled = true }, () => { entry.settled = true })
        pending.push(entry)
        wakeWriter?.()
      }
    } catch (err) {
      readFailure = { error: err }
    } finally {
      readDone = true
      wakeWriter?.()
    }
  })()

  try {
    for (;;) {
      if (pending.length === 0) {
        if (readDone) break
        await new Promise<void>((resolve) => { wakeWriter = resolve })
        continue
      }
      const due = [await pending[0]!.response]
      // the requests behind it, answered in the same moment (one group commit), go with it
      if (maxJoined > 1 && pending.length > 1 && !pending[1]!.settled) await new Promise((resolve) => setImmediate(resolve))
      for (const next of pending.slice(1, maxJoined)) {
        if (!next.settled) break
        try {
          due.push(await next.response)
        } catch {
          break // thrown once the answers before it are written
        }
      }
      await write(due)
      pending.splice(0, due.length)
      wakeReader?.()
    }
  } finally {
    stopped = true
    wakeReader?.()
  }
  await reader
  if (readFailure !== undefined) throw readFailure.error
}
