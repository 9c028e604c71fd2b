import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileWeight, FILE_WINDOW, inFileWindow } from '../src/app/owner/file-window.ts'

const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

describe('the file window of a command', () => {
  it('runs up to FILE_WINDOW small files at once but only a few large ones, results in order', async () => {
    let running = 0
    let peak = 0
    const sizes = [...Array(40).fill(100), ...Array(12).fill(10 * 1024 * 1024)]
    const peaks: Record<string, number> = {}
    const out = await inFileWindow(sizes, fileWeight, async (size, i) => {
      running += fileWeight(size)
      peak = Math.max(peak, running)
      const kind = size > 1024 ? 'large' : 'small'
      peaks[kind] = Math.max(peaks[kind] ?? 0, running)
      for (let t = 0; t < 3; t++) await tick()
      running -= fileWeight(size)
      return i
    })
    assert.deepEqual(out, sizes.map((_, i) => i))
    assert.ok(peak <= FILE_WINDOW, `${peak} in flight`)
    assert.equal(peaks.small, FILE_WINDOW, 'small files fill the window')
  })

  it('starts nothing after a failure, lets the running ones finish, then throws the first failure', async () => {
    const started: number[] = []
    const finished: number[] = []
    await assert.rejects(inFileWindow(Array.from({ length: 50 }, (_, i) => i), () => 1, async (i) => {
      started.push(i)
      await tick()
      if (i === 3) throw new Error('boom 3')
      await tick()
      finished.push(i)
    }), /boom 3/)
    assert.ok(started.length < 50, `${started.length} started`)
    assert.deepEqual(finished.sort((a, b) => a - b), started.filter((i) => i !== 3).sort((a, b) => a - b))
  })
})
