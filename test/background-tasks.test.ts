import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BackgroundTasks } from '../src/app/background-tasks.ts'
import type { Logger } from '../src/ports/logger.ts'
import { waitFor } from './helpers/wait-for.ts'

function recordingLog (): Logger & { warnings: string[] } {
  const warnings: string[] = []
  return { warnings, debug () {}, info () {}, error () {}, warn (message: string) { warnings.push(message) } }
}

/** A task that runs until it is aborted, and says when it has finished cleaning up. */
function untilAborted (state: { finished: boolean }) {
  return async (signal: AbortSignal): Promise<void> => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    await new Promise((resolve) => setTimeout(resolve, 20)) // cleanup after the signal takes a while
    state.finished = true
  }
}

describe('BackgroundTasks', () => {
  it('stop aborts every task and waits until each has finished', async () => {
    const tasks = new BackgroundTasks(recordingLog())
    const a = { finished: false }
    const b = { finished: false }
    tasks.run('a', untilAborted(a))
    tasks.every('b', 60_000, untilAborted(b))
    assert.equal(tasks.size, 2)
    await tasks.stop()
    assert.ok(a.finished && b.finished, 'stop resolved only after both tasks ended')
    assert.equal(tasks.size, 0)
  })

  it('logs a failure without throwing and keeps the others running; an abort is no failure', async () => {
    const log = recordingLog()
    const tasks = new BackgroundTasks(log)
    const other = { finished: false }
    tasks.run('sweep', async () => { throw new Error('disk on fire') })
    tasks.run('other', untilAborted(other))
    tasks.run('polite', async (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))))
    await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepEqual(log.warnings, ['sweep failed'])
    assert.equal(tasks.size, 2, 'the failed task is gone, the others still run')
    await tasks.stop()
    assert.deepEqual(log.warnings, ['sweep failed'], 'a task rejecting because it was aborted is not logged as failed')
    assert.ok(other.finished)
  })

  it('repeats a task after each run ends, never two runs at once, and stops between runs', async () => {
    const tasks = new BackgroundTasks(recordingLog())
    let running = 0
    let overlap = false
    let runs = 0
    tasks.every('audit', 5, async () => {
      overlap ||= running > 0
      running++
      await new Promise((resolve) => setTimeout(resolve, 10))
      running--
      runs++
    })
    await waitFor(() => runs >= 3, { what: 'three runs', timeoutMs: 10_000, intervalMs: 5 })
    await tasks.stop()
    const atStop = runs
    assert.ok(!overlap, 'runs never overlap')
    await new Promise((resolve) => setTimeout(resolve, 30))
    assert.equal(runs, atStop, 'no run after stop')
  })

  it('refuses new work after stop, so nothing outlives its owner', async () => {
    const tasks = new BackgroundTasks(recordingLog())
    await tasks.stop()
    let started = false
    assert.throws(() => tasks.run('late', async () => { started = true }), { name: 'ClosedError' })
    assert.throws(() => tasks.every('late', 10, async () => { started = true }), { name: 'ClosedError' })
    assert.equal(started, false)
    assert.equal(tasks.size, 0)
  })
})
