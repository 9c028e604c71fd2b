import { InvalidInputError } from '../../errors.ts'

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, pib: 2 ** 50
}

/**
 * Parses a byte size: plain bytes (`1048576`) or a number with a decimal (`500GB`,
 * `1.5TB`) or binary (`2TiB`) unit, case-insensitive, optional space. The result must
 * be a whole, safe integer number of bytes.
 */
export function parseSize (text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(text))
  const unit = match?.[2]?.toLowerCase() || 'b'
  const factor = UNITS[unit]
  if (match === null || factor === undefined) {
    throw new InvalidInputError(`not a size: ${JSON.stringify(text)} (use e.g. 500GB, 2TiB or a number of bytes)`)
  }
  const bytes = Number(match[1]) * factor
  if (!Number.isSafeInteger(bytes)) {
    throw new InvalidInputError(`not a whole number of bytes, or too large: ${JSON.stringify(text)}`)
  }
  return bytes
}

/** Formats bytes for people: binary units, three significant digits. */
export function formatSize (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let value = bytes
  let unit = 'B'
  for (const next of units) {
    if (value < 1024) break
    value /= 1024
    unit = next
  }
  return `${value.toPrecision(3)} ${unit}`
}
