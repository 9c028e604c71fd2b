/**
 * Files an owner command stores or fetches at once: small files are dominated by round
 * trips and proofs, not bytes, so a few in flight keep streams and CPU busy; each file
 * bounds its own chunks in flight, so memory stays a few dozen MiB.
 */
export const FILES_IN_FLIGHT = 4

/**
 * Runs `work` on every item, at most `limit` at once, and resolves with the results in
 * the items' order. After the first failure no new item is started; the ones running
 * are let finish (they hold files and streams the caller closes next), then the first
 * failure is thrown.
 */
export async function inParallel<T, R> (items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  let failure: { err: unknown } | undefined
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (failure === undefined && next < items.length) {
      const index = next++
      try {
        results[index] = await work(items[index]!, index)
      } catch (err) {
        failure ??= { err }
      }
    }
  }))
  if (failure !== undefined) throw failure.err
  return results
}
