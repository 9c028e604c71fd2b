import { InvalidInputError } from '../../errors.ts'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses a duration into milliseconds: a number is milliseconds (so a parsed config
 * written back as JSON reads the same), a string carries a unit: `500ms`, `30s`,
 * `1.5m`, `2h`. The result is a whole, non-negative number of milliseconds.
 */
export function parseDuration (value: unknown): number {
  let ms: number
  if (typeof value === 'number') {
    ms = value
  } else {
    const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/i.exec(value) : null
    if (match === null) throw new InvalidInputError(`not a duration: ${JSON.stringify(value)} (use e.g. 500ms, 30s, 5m or a number of milliseconds)`)
    ms = Number(match[1]) * (UNITS[match[2]!.toLowerCase()] ?? NaN)
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > 2 ** 31 - 1) {
    throw new InvalidInputError(`not a usable duration: ${JSON.stringify(value)} (0 to about 24 days)`)
  }
  return Math.round(ms)
}
