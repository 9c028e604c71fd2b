import { InvalidInputError } from '../../errors.ts'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** What a timer can wait for (setTimeout's limit): the default ceiling. */
const TIMER_MAX_MS = 2 ** 31 - 1

/**
 * Parses a duration into milliseconds: a number is milliseconds (so a parsed config
 * written back as JSON reads the same), a string carries a unit: `500ms`, `30s`,
 * `1.5m`, `2h`, `7d`. The result is a whole, non-negative number of milliseconds, at
 * most `maxMs` (default: what a timer can wait, about 24 days).
 */
export function parseDuration (value: unknown, maxMs = TIMER_MAX_MS): number {
  let ms: number
  if (typeof value === 'number') {
    ms = value
  } else {
    const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(value) : null
    if (match === null) throw new InvalidInputError(`not a duration: ${JSON.stringify(value)} (use e.g. 500ms, 30s, 5m, 2h, 7d or a number of milliseconds)`)
    ms = Number(match[1]) * (UNITS[match[2]!.toLowerCase()] ?? NaN)
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > maxMs) {
    throw new InvalidInputError(`not a usable duration: ${JSON.stringify(value)} (0 to ${Math.floor(maxMs / 86_400_000)} days)`)
  }
  return Math.round(ms)
}
