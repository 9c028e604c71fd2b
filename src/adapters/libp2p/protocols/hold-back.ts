import type { Connection, Stream } from '@libp2p/interface'

type RawConnection = Pick<Stream, 'pause' | 'resume' | 'readStatus'>

/** Connections held back now, with when each is read again. */
const held = new WeakMap<RawConnection, { until: number, timer: ReturnType<typeof setTimeout> }>()

/**
 * Stops reading `connection` for `ms` (or longer, if it is held back already for
 * longer): a connection not read cannot make the node decrypt anything (TCP's window
 * fills, the peer's sends wait), so a stranger over a rate is slowed in its own
 * window instead of in the node's CPU. Holds from several causes (the stream rate, the
 * store rate) share one timer per connection, so one never resumes what another holds.
 * libp2p's raw connection (`maConn`, a MessageStream: pause stops reading the socket)
 * is not in its types. False when there is nothing to hold (closing, no raw connection).
 */
export function holdBack (connection: Connection, ms: number): boolean {
  const raw = (connection as unknown as { maConn?: RawConnection }).maConn
  if (raw === undefined || !(ms > 0)) return false
  const until = Date.now() + ms
  const before = held.get(raw)
  if (before !== undefined) {
    if (until <= before.until) return true
    clearTimeout(before.timer)
  } else {
    if (raw.readStatus !== 'readable') return false
    try {
      raw.pause()
    } catch {
      return false // closing already
    }
  }
  const timer = setTimeout(() => {
    held.delete(raw)
    try {
      if (raw.readStatus === 'paused') raw.resume()
    } catch {
      // closed while held back
    }
  }, until - Date.now())
  timer.unref()
  held.set(raw, { until, timer })
  return true
}
