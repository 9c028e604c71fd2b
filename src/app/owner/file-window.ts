import { CHUNK_SIZE } from '../../domain/formats/chunker.ts'
import { FILES_IN_FLIGHT } from './in-parallel.ts'

/**
 * Files of one command in flight, by weight: a file of one chunk or less weighs 1, a
 * larger one FILE_WINDOW / FILES_IN_FLIGHT. Small files cost round trips, not bytes, so
 * many at once keep the holders' streams full, while large ones stay FILES_IN_FLIGHT at
 * once, each bounding its own chunks in flight, so memory stays a few dozen MiB.
 */
export const FILE_WINDOW = 16

export function fileWeight (size: number): number {
  return size <= CHUNK_SIZE ? 1 : FILE_WINDOW / FILES_IN_FLIGHT
}

/**
 * Runs `work` on every item with the weights in flight at most `budget`, and resolves
 * with the results in the items' order. After the first failure no new item starts;
 * those running are let finish (they hold files and streams the caller closes next),
 * then the first failure is thrown, as inParallel does.
 */
export async function inFileWindow<T, R> (items: readonly T[], weightOf: (item: T) => number, work: (item: T, index: number) => Promise<R>, budget = FILE_WINDOW): Promise<R[]> {
  const results: R[] = new Array(items.length)
  const running = new Set<Promise<void>>()
  let used = 0
  let failure: { err: unknown } | undefined
  for (let index = 0; index < items.length && failure === undefined; index++) {
    const item = items[index]!
    const weight = Math.max(1, Math.min(budget, weightOf(item)))
    while (used + weight > budget) await Promise.race(running)
    if (failure !== undefined) break
    used += weight
    const task = (async () => {
      try {
        results[index] = await work(item, index)
      } catch (err) {
        failure ??= { err }
      } finally {
        used -= weight
      }
    })()
    running.add(task)
    void task.finally(() => running.delete(task))
  }
  await Promise.all(running)
  if (failure !== undefined) throw failure.err
  return results
}
