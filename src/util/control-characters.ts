// Control characters in text that came from outside (a file name, a peer's chunk id or
// error message) must not reach a terminal or a log as themselves: a newline forges a
// line, an escape sequence rewrites the screen. One definition of which characters
// those are, two ways to make them harmless.

/** Unicode's control characters (C0, DEL, C1). */
const CONTROL = '\\p{Cc}'

const CONTROLS = new RegExp(CONTROL, 'gu')
// log readers (and JavaScript tooling) also break lines at U+2028 and U+2029
const LINE_BREAKING = new RegExp(`[${CONTROL}\\u2028\\u2029]`, 'gu')

/** For display: each control character becomes `?` (a progress line, a file name). */
export function printable (text: string): string {
  return text.replace(CONTROLS, '?')
}

/** For logs: each control or line-separator character written as a visible escape, so one event stays one line. */
export function escapeControls (text: string): string {
  return text.replace(LINE_BREAKING, (c) => c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
