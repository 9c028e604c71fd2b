import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatDuration, renderProgressLine } from '../src/cli/progress-line.ts'
import { TransferProgress, type ProgressSnapshot } from '../src/domain/transfer/progress.ts'
import { cellWidth, truncateStart } from '../src/cli/terminal-width.ts'
import { printable } from '../src/util/control-characters.ts'

const MiB = 1024 * 1024

/** A clock the test moves by hand. */
function fakeClock (start = 1000): { now: () => number, tick: (ms: number) => void } {
  let t = start
  return { now: () => t, tick: (ms) => { t += ms } }
}

function snapshot (fields: Partial<ProgressSnapshot>): ProgressSnapshot {
  return { doneBytes: 0, totalBytes: 100, fraction: 0, bytesPerSecond: undefined, etaMs: undefined, elapsedMs: 0, ...fields }
}

describe('transfer progress', () => {
  it('counts bytes and measures the rate and ETA over the sliding window', () => {
    const clock = fakeClock()
    const progress = new TransferProgress({ totalBytes: 100e6, now: clock.now, windowMs: 5000 })
    let s = progress.snapshot()
    assert.deepEqual(s, { doneBytes: 0, totalBytes: 100e6, fraction: 0, bytesPerSecond: undefined, etaMs: undefined, elapsedMs: 0 })
    // 10 s at 2 MB/s
    for (let i = 0; i < 100; i++) { clock.tick(100); progress.advance(200_000) }
    s = progress.snapshot()
    assert.equal(s.doneBytes, 20e6)
    assert.equal(s.fraction, 0.2)
    assert.equal(s.elapsedMs, 10_000)
    assert.equal(s.bytesPerSecond, 2e6)
    assert.equal(s.etaMs, 40_000)
    // then 5 s at 8 MB/s: the window holds only the new speed
    for (let i = 0; i < 50; i++) { clock.tick(100); progress.advance(800_000) }
    s = progress.snapshot()
    assert.equal(s.bytesPerSecond, 8e6)
    assert.equal(s.etaMs, 40e6 / 8e6 * 1000)
  })

  it('shows a stall: the rate falls to zero and the ETA becomes unknown', () => {
    const clock = fakeClock()
    const progress = new TransferProgress({ totalBytes: 10 * MiB, now: clock.now, windowMs: 2000 })
    clock.tick(1000)
    progress.advance(MiB)
    clock.tick(1000)
    assert.equal(progress.snapshot().bytesPerSecond, MiB / 2)
    clock.tick(500)
    assert.equal(progress.snapshot().bytesPerSecond, MiB / 2.5, 'the window still holds the last advance')
    clock.tick(1500) // a whole window since the last advance
    const stalled = progress.snapshot()
    assert.equal(stalled.bytesPerSecond, 0)
    assert.equal(stalled.etaMs, undefined)
  })

  it('finishes at 100% with no time left, also for an empty transfer and a grown file', () => {
    const clock = fakeClock()
    const empty = new TransferProgress({ totalBytes: 0, now: clock.now })
    assert.equal(empty.snapshot().fraction, 1)
    assert.equal(empty.snapshot().etaMs, 0)
    const grown = new TransferProgress({ totalBytes: 10, now: clock.now })
    clock.tick(10)
    grown.advance(15)
    assert.equal(grown.snapshot().fraction, 1)
    grown.setTotal(20)
    assert.equal(grown.snapshot().fraction, 0.75)
  })

  it('keeps memory bounded however often it is advanced, and survives a clock going back', () => {
    const clock = fakeClock()
    const progress = new TransferProgress({ totalBytes: 1e12, now: clock.now, windowMs: 5000 })
    for (let i = 0; i < 100_000; i++) { clock.tick(1); progress.advance(1000) }
    assert.ok((progress as unknown as { samples: unknown[] }).samples.length <= 52)
    assert.ok(Math.abs(progress.snapshot().bytesPerSecond! - 1e6) < 1)
    clock.tick(-50_000)
    const s = progress.snapshot()
    assert.equal(s.elapsedMs, 100_000)
    assert.ok(s.bytesPerSecond! >= 0)
  })

  it('refuses negative or fractional byte counts', () => {
    const clock = fakeClock()
    assert.throws(() => new TransferProgress({ totalBytes: -1, now: clock.now }), { name: 'InvalidInputError' })
    const progress = new TransferProgress({ totalBytes: 1, now: clock.now })
    for (const bytes of [-1, 0.5, Number.NaN]) assert.throws(() => progress.advance(bytes), { name: 'InvalidInputError' })
  })
})

describe('progress line', () => {
  const half = snapshot({ doneBytes: 12.3 * MiB, totalBytes: 29.1 * MiB, fraction: 12.3 / 29.1, bytesPerSecond: 8.1 * MiB, etaMs: 1600 })

  it('draws label, percent, bar, sizes, rate and ETA', () => {
    const line = renderProgressLine('photos/a.jpg', half, 100)
    assert.equal(line, 'photos/a.jpg   42% [############..................]  12.3 MiB/29.1 MiB  8.10 MiB/s  ETA 2s')
  })

  it('never exceeds the width, and gives up the bar, then the rate, then the sizes', () => {
    const label = 'photos/2024/summer holiday/IMG_0001.jpg'
    for (let width = 0; width <= 160; width++) {
      const line = renderProgressLine(label, half, width)
      assert.ok(cellWidth(line) <= width, `${width}: ${JSON.stringify(line)}`)
      if (width >= 3) assert.match(line, /42%/)
    }
    assert.match(renderProgressLine(label, half, 90), /\[#+\.+\]/)
    assert.doesNotMatch(renderProgressLine(label, half, 60), /\[/)
    assert.match(renderProgressLine(label, half, 60), /ETA/)
    assert.match(renderProgressLine(label, half, 45), /MiB\/29\.1 MiB$/)
    assert.match(renderProgressLine(label, half, 80), /^…[^…]*IMG_0001\.jpg  /, 'the path is cut at its start')
  })

  it('shows unknown rate and ETA, and done', () => {
    assert.match(renderProgressLine('a', snapshot({}), 80), /0% \[\.+\]  0 B\/100 B  --\/s  ETA --$/)
    assert.match(renderProgressLine('a', snapshot({ doneBytes: 100, fraction: 1, etaMs: 0, bytesPerSecond: 50 }), 80), /100% \[#+\]  100 B\/100 B  50 B\/s  done$/)
  })

  it('counts wide characters as two cells and neutralises control characters in names', () => {
    const line = renderProgressLine('写真/夏休み/海.jpg', half, 70)
    assert.ok(cellWidth(line) <= 70)
    assert.equal(cellWidth('写真'), 4)
    assert.equal(cellWidth('e\u0301'), 1)
    assert.equal(cellWidth('😀'), 2)
    assert.equal(printable('evil\x1b[2Jname\n'), 'evil?[2Jname?')
    assert.ok(!renderProgressLine('evil\x1b[2J\rname', half, 100).includes('\x1b'))
    assert.equal(truncateStart('abcdef', 4), '…def')
    assert.equal(truncateStart('写真写真', 5), '…写真')
    assert.equal(truncateStart('abc', 3), 'abc')
  })

  it('formats durations', () => {
    assert.deepEqual([0, 1, 1500, 59_000, 60_000, 65_000, 3_599_000, 3_600_000, 7_380_000, 90_000_000, undefined, Infinity].map(formatDuration),
      ['0s', '1s', '2s', '59s', '1m00s', '1m05s', '59m59s', '1h00m', '2h03m', '1d01h', '--', '--'])
  })
})
