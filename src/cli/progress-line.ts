import { formatSize } from '../domain/config/size.ts'
import type { ProgressSnapshot } from '../domain/transfer/progress.ts'
import { printable } from '../util/control-characters.ts'
import { cellWidth, truncateStart } from './terminal-width.ts'

// A transfer's progress as one terminal line that fits the width, e.g.
//   photos/a.jpg  42% [########..........]  12.3 MiB/29.1 MiB  8.10 MiB/s  ETA 2s

const MIN_BAR = 10
const MAX_BAR = 30
/** The label keeps at least this many cells (or all of it) before the bar is dropped. */
const MIN_LABEL = 12

/**
 * One line of at most `width` cells. The richest layout that fits wins: label, percent,
 * bar, sizes, rate, ETA; then without the bar; then percent and sizes; then percent.
 * The label (a path) is cut from the start, keeping the file name.
 */
export function renderProgressLine (label: string, progress: ProgressSnapshot, width: number): string {
  const cells = Math.max(0, Math.floor(width))
  const name = printable(label)
  const percent = `${Math.floor(progress.fraction * 100)}%`.padStart(4)
  const sizes = `${formatSize(progress.doneBytes)}/${formatSize(progress.totalBytes)}`
  const rate = progress.bytesPerSecond === undefined ? '--/s' : `${formatSize(Math.round(progress.bytesPerSecond))}/s`
  const eta = progress.doneBytes >= progress.totalBytes ? 'done' : `ETA ${formatDuration(progress.etaMs)}`

  const want = cellWidth(name)
  const layouts: Array<{ after: string[], bar: boolean }> = [
    { after: [sizes, rate, eta], bar: true },
    { after: [sizes, rate, eta], bar: false },
    { after: [sizes], bar: false },
    { after: [], bar: false }
  ]
  for (const { after, bar } of layouts) {
    const tail = after.map((part) => `  ${part}`).join('')
    // label, two spaces, percent, then (with a bar) a space and the bracketed bar, then the tail
    const fixed = 2 + cellWidth(percent) + (bar ? 3 : 0) + cellWidth(tail)
    const room = cells - fixed
    const barCells = bar ? Math.min(MAX_BAR, Math.max(MIN_BAR, room - want)) : 0
    const labelCells = Math.min(want, room - barCells)
    if (labelCells < Math.min(want, MIN_LABEL)) continue
    const filled = Math.floor(progress.fraction * barCells)
    const drawn = bar ? ` [${'#'.repeat(filled)}${'.'.repeat(barCells - filled)}]` : ''
    return `${truncateStart(name, labelCells)}  ${percent}${drawn}${tail}`
  }
  return truncateStart(percent.trim(), cells)
}

/** 2s, 1m05s, 2h03m, 3d04h; '--' when unknown. */
export function formatDuration (ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '--'
  const s = Math.ceil(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`
}
