/**
 * Serves a stream of requests with up to `window` of them being worked on at once,
 * writing the responses in request order. A storage node's work per chunk is mostly
 * waiting (fsync, disk reads), so handling requests one by one would leave a
 * pipelining client waiting on each chunk's disk latency in turn.
 *
 * `next` returns undefined at the end of the requests. `handle` turns a request into
 * its response and rejects only for failures that must end the stream. When `next` or
 * `handle` fails, the responses already due are written first, then the error is
 * thrown. When `write` fails, reading stops: no request is handled after that, though
 * the one `next` may still be waiting for is not interrupted (the caller aborts the
 * stream for that).
 */
export async function respondInOrder<Req, Res> (
  next: () => Promise<Req | undefined>,
  handle: (request: Req) => Promise<Res>,
  write: (response: Res) => Promise<void>,
  window: number
): Promise<void> {
  const pending: Array<Promise<Res>> = []
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
        const response = handle(request)
        response.catch(() => {}) // observed by the writer in order
        pending.push(response)
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
      await write(await pending[0]!)
      pending.shift()
      wakeReader?.()
    }
  } finally {
    stopped = true
    wakeReader?.()
  }
  await reader
  if (readFailure !== undefined) throw readFailure.error
}
