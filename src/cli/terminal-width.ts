/**
 * How many terminal cells text takes, for lines that must not wrap (a progress line
 * redrawn with '\r' breaks once it wraps). File names are the text at stake: CJK and
 * emoji take two cells, combining marks none; control characters are made '?' first
 * (printable, src/util/control-characters.ts).
 *
 * An approximation of wcwidth good for file names, not a full implementation of
 * Unicode's East Asian Width: the wide ranges below are the ones terminals agree on.
 */

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\u200B-\u200F\u2060\uFEFF]$/u
const EMOJI = /^\p{Extended_Pictographic}$/u

function isWide (codePoint: number): boolean {
  return (codePoint >= 0x1100 && codePoint <= 0x115f) || // Hangul Jamo
    (codePoint >= 0x2e80 && codePoint <= 0x303e) || // CJK radicals, punctuation
    (codePoint >= 0x3041 && codePoint <= 0x33ff) || // kana, CJK symbols
    (codePoint >= 0x3400 && codePoint <= 0x4dbf) || // CJK extension A
    (codePoint >= 0x4e00 && codePoint <= 0x9fff) || // CJK unified
    (codePoint >= 0xa000 && codePoint <= 0xa4cf) || // Yi
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) || // Hangul syllables
    (codePoint >= 0xf900 && codePoint <= 0xfaff) || // CJK compatibility
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) || // CJK compatibility forms
    (codePoint >= 0xff00 && codePoint <= 0xff60) || // fullwidth forms
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    (codePoint >= 0x1f300 && codePoint <= 0x1f64f) || // pictographs, emoticons
    (codePoint >= 0x1f900 && codePoint <= 0x1f9ff) ||
    (codePoint >= 0x20000 && codePoint <= 0x3fffd) // CJK extensions B and later
}

function cellsOf (char: string): number {
  if (ZERO_WIDTH.test(char)) return 0
  const codePoint = char.codePointAt(0)!
  return isWide(codePoint) || (codePoint > 0xff && EMOJI.test(char)) ? 2 : 1
}

/** Terminal cells `text` takes. */
export function cellWidth (text: string): number {
  let cells = 0
  for (const char of text) cells += cellsOf(char)
  return cells
}

/**
 * `text` in at most `cells` cells, keeping its end (for a path, the file name is the
 * informative part) and marking the cut with '…'.
 */
export function truncateStart (text: string, cells: number): string {
  if (cellWidth(text) <= cells) return text
  if (cells <= 0) return ''
  const chars = [...text]
  let kept = ''
  let used = 1 // the ellipsis
  for (let i = chars.length - 1; i >= 0; i--) {
    const width = cellsOf(chars[i]!)
    if (used + width > cells) break
    kept = chars[i]! + kept
    used += width
  }
  return '…' + kept
}
