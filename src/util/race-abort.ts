import { AbortError } from '../errors.ts'

/**
 * Settles with `work`, or rejects with AbortError as soon as `signal` fires, whichever
 * comes first. For computations that cannot be interrupted: the caller stops waiting,
 * the work finishes in the background and its result (or error) is dropped.
 */
export async function raceAbort<T> (work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return work
  if (signal.aborted) {
    work.catch(() => {})
    throw new AbortError('the operation was aborted', { cause: signal.reason })
  }
  let onAbort = () => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new AbortError('the operation was aborted', { cause: signal.reason }))
  })
  signal.addEventListener('abort', onAbort, { once: true })
  work.catch(() => {})
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
