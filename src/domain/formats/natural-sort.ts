/**
 * Natural order for names as people read them: `IMG_2` before `IMG_10`, segment by
 * segment so a directory's contents stay together. Locale-free (the same order on every
 * machine): runs of ASCII digits compare by value, everything else case-insensitively by
 * code point, and exact ties fall back to the plain code-point order so the result is total.
 */
export function naturalCompare (a: string, b: string): number {
  // segment by segment, scanning in place: a tree walk sorts every directory it lists
  // with this, and splitting each name into arrays of runs per comparison was most of it
  let i = 0
  let j = 0
  for (;;) {
    const ai = a.indexOf('/', i)
    const bj = b.indexOf('/', j)
    const aEnd = ai < 0 ? a.length : ai
    const bEnd = bj < 0 ? b.length : bj
    const order = compareSegment(a, i, aEnd, b, j, bEnd)
    if (order !== 0) return order
    if (ai < 0 || bj < 0) {
      // one ran out of segments: fewer segments first
      if (ai >= 0) return 1
      if (bj >= 0) return -1
      return a < b ? -1 : a > b ? 1 : 0
    }
    i = aEnd + 1
    j = bEnd + 1
  }
}

/** Runs of ASCII digits compare by value, other runs case-insensitively; then fewer runs first; then the whole segments case-insensitively. */
function compareSegment (a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): number {
  let i = aStart
  let j = bStart
  while (i < aEnd && j < bEnd) {
    const digits = isDigit(a.charCodeAt(i))
    const x = runEnd(a, i, aEnd, digits)
    const y = runEnd(b, j, bEnd, isDigit(b.charCodeAt(j)))
    if (!sameText(a, i, x, b, j, y)) {
      const order = digits && isDigit(b.charCodeAt(j))
        ? compareNumbers(a, i, x, b, j, y)
        : compareText(a.slice(i, x).toLowerCase(), b.slice(j, y).toLowerCase())
      if (order !== 0) return order
    }
    i = x
    j = y
  }
  if (i < aEnd) return 1
  if (j < bEnd) return -1
  return compareText(a.slice(aStart, aEnd).toLowerCase(), b.slice(bStart, bEnd).toLowerCase())
}

function isDigit (c: number): boolean {
  return c >= 48 && c <= 57
}

/** Where the run of digits (or of anything else) starting at `from` ends. */
function runEnd (s: string, from: number, end: number, digits: boolean): number {
  let k = from + 1
  while (k < end && isDigit(s.charCodeAt(k)) === digits) k++
  return k
}

function sameText (a: string, i: number, x: number, b: string, j: number, y: number): boolean {
  if (x - i !== y - j) return false
  for (let k = 0; k < x - i; k++) if (a.charCodeAt(i + k) !== b.charCodeAt(j + k)) return false
  return true
}

/** By value without parsing (runs may be longer than a safe integer); fewer leading zeros first on ties. */
function compareNumbers (a: string, i: number, x: number, b: string, j: number, y: number): number {
  let p = i
  let q = j
  while (p < x - 1 && a.charCodeAt(p) === 48) p++
  while (q < y - 1 && b.charCodeAt(q) === 48) q++
  if (x - p !== y - q) return (x - p) - (y - q)
  for (; p < x; p++, q++) {
    const d = a.charCodeAt(p) - b.charCodeAt(q)
    if (d !== 0) return d
  }
  return (x - i) - (y - j)
}

function compareText (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
