/** How long the event loop was unable to run timers over a span of time. */
export interface StallClock {
  /** Now, in the clock's time base (ms). */
  now (): number
  /** Milliseconds in [from, now] during which the event loop was blocked. */
  stalledSince (from: number): number
}

export interface EventLoopStallsInit {
  /** Time between samples. Default 100 ms. */
  sampleMs?: number
  /** Lateness below this is scheduling noise, not a stall. Default 20 ms. */
  noiseMs?: number
  /** Stalls older than this are forgotten. Default 10 min. */
  keepMs?: number
  now?: () => number
}

const DEFAULT_SAMPLE_MS = 100
const DEFAULT_NOISE_MS = 20
const DEFAULT_KEEP_MS = 10 * 60_000
/** Bounds memory whatever the settings: a sample every 100 ms for 10 min is 6,000. */
const MAX_STALLS = 10_000

/**
 * Measures event-loop stalls by how late a repeating timer fires: a timer due at t
 * that runs at t + 300 ms means nothing on this thread ran for 300 ms (sealing a
 * large file, a long synchronous proof). Liveness asks it whether a ping that timed
 * out ever had a fair chance: an answer may have sat unread in a socket all along.
 */
export class EventLoopStalls implements StallClock {
  private readonly sampleMs: number
  private readonly noiseMs: number
  private readonly keepMs: number
  readonly now: () => number
  /** [start, end] of each stall, oldest first. */
  private readonly stalls: Array<[number, number]> = []
  private timer: ReturnType<typeof setTimeout> | undefined
  private due = 0

  constructor (init: EventLoopStallsInit = {}) {
    this.sampleMs = init.sampleMs ?? DEFAULT_SAMPLE_MS
    this.noiseMs = init.noiseMs ?? DEFAULT_NOISE_MS
    this.keepMs = init.keepMs ?? DEFAULT_KEEP_MS
    this.now = init.now ?? (() => performance.now())
  }

  start (): void {
    if (this.timer !== undefined) return
    this.arm()
  }

  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  stalledSince (from: number): number {
    const now = this.now()
    let total = 0
    for (const [start, end] of this.stalls) total += overlap(start, end, from, now)
    // a stall still going on (the sample is overdue) counts too: a ping's timeout can
    // fire in the same turn of the loop that ends the stall, before the sample runs
    if (this.timer !== undefined && now - this.due > this.noiseMs) total += overlap(this.due, now, from, now)
    return total
  }

  private arm (): void {
    this.due = this.now() + this.sampleMs
    this.timer = setTimeout(() => { this.sample() }, this.sampleMs)
    // a monitor must never be what keeps the process alive
    this.timer.unref?.()
  }

  private sample (): void {
    const now = this.now()
    if (now - this.due > this.noiseMs) this.stalls.push([this.due, now])
    while (this.stalls.length > 0 && (this.stalls[0]![1] < now - this.keepMs || this.stalls.length > MAX_STALLS)) this.stalls.shift()
    this.arm()
  }
}

function overlap (start: number, end: number, from: number, to: number): number {
  return Math.max(0, Math.min(end, to) - Math.max(start, from))
}
