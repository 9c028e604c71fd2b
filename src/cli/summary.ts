import { formatSize } from '../domain/config/size.ts'

/** What one command did, for its closing line. */
export interface Tally {
  files: number
  bytes: number
  links?: number
  directories?: number
  skipped?: number
  /** What the skipped ones were, e.g. `existing` or `special`. */
  skippedWhat?: string
  /** Files kept from the previous version, not sent again (put). */
  unchanged?: number
  /** Files a put cut by the daemon's death had stored, adopted rather than sent again (put). */
  resumed?: number
}

/** `restored 162 files (52.0 MiB), 3 links in 4.2s; skipped 4 existing`: files, bytes, skipped, time. */
export function summaryLine (verb: string, tally: Tally, elapsedMs: number): string {
  const parts = [`${verb} ${count(tally.files, 'file')} (${formatSize(tally.bytes)})`]
  if ((tally.links ?? 0) > 0) parts.push(count(tally.links!, 'link'))
  if ((tally.directories ?? 0) > 0) parts.push(count(tally.directories!, 'directory', 'directories'))
  const skipped = (tally.skipped ?? 0) > 0 ? `; skipped ${tally.skipped}${tally.skippedWhat === undefined ? '' : ` ${tally.skippedWhat}`}` : ''
  const unchanged = (tally.unchanged ?? 0) > 0 ? `; ${tally.unchanged} unchanged, not sent again` : ''
  const resumed = (tally.resumed ?? 0) > 0 ? `; ${tally.resumed} resumed from an interrupted put` : ''
  return `${parts.join(', ')} in ${formatElapsed(elapsedMs)}${unchanged}${resumed}${skipped}`
}

export function count (n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/** 0.4s, 12.3s, 4m05s. */
export function formatElapsed (ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}

/** Local wall-clock time with the zone's offset, to the minute: `2026-12-01 17:05 +0100`. */
export function formatLocalTime (ms: number): string {
  const d = new Date(ms)
  const two = (n: number): string => String(n).padStart(2, '0')
  const offset = -d.getTimezoneOffset()
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())} ${zone}`
}
