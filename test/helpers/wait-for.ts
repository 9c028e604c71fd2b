export interface WaitForOptions {
  /** What is awaited, for the failure message. */
  what: string
  /** Generous upper bound; the wait ends as soon as the condition holds. */
  timeoutMs?: number
  intervalMs?: number
}

/** Polls `condition` until it returns a truthy value (which is returned) or the time limit passes. */
export async function waitFor<T> (condition: () => T | Promise<T>, options: WaitForOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  let last: unknown
  while (true) {
    try {
      const value = await condition()
      if (value) return value as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${options.what}${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`)
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100))
  }
}
