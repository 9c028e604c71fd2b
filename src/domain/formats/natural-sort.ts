/**
 * Natural order for names as people read them: `IMG_2` before `IMG_10`, segment by
 * segment so a directory's contents stay together. Locale-free (the same order on every
 * machine): runs of ASCII digits compare by value, everything else case-insensitively by
 * code point, and exact ties fall back to the plain code-point order so the result is total.
 */
export function naturalCompare (a: string, b: string): number {
  const left = a.split('/')
  const right = b.split('/')
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = compareSegment(left[i]!, right[i]!)
    if (order !== 0) return order
  }
  if (left.length !== right.length) return left.length - right.length
  return a < b ? -1 : a > b ? 1 : 0
}

const RUNS = /\d+|\D+/g

function compareSegment (a: string, b: string): number {
  const left = a.match(RUNS) ?? []
  const right = b.match(RUNS) ?? []
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i]!
    const y = right[i]!
    const digits = isDigits(x) && isDigits(y)
    const order = digits ? compareNumbers(x, y) : compareText(x.toLowerCase(), y.toLowerCase())
    if (order !== 0) return order
  }
  if (left.length !== right.length) return left.length - right.length
  return compareText(a.toLowerCase(), b.toLowerCase())
}

function isDigits (run: string): boolean {
  const c = run.charCodeAt(0)
  return c >= 48 && c <= 57
}

/** By value without parsing (runs may be longer than a safe integer); fewer leading zeros first on ties. */
function compareNumbers (a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '')
  const y = b.replace(/^0+(?=\d)/, '')
  if (x.length !== y.length) return x.length - y.length
  if (x !== y) return x < y ? -1 : 1
  return a.length - b.length
}

function compareText (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
