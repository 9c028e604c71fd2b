/**
 * A test body whose failure message ends with `explain()` (what each node saw, the tail
 * of its log): a flake in a multi-process test then says which peer went missing and why.
 */
export function explained (body: () => Promise<void>, explain: () => Promise<string>): () => Promise<void> {
  return async () => {
    try {
      await body()
    } catch (err) {
      const context = await explain().catch((e: Error) => `(cannot explain: ${e.message})`)
      // a new error: the runner prints an error's stack, fixed when it was made
      throw new Error(`${(err as Error)?.message ?? String(err)}\n${context}`, { cause: err })
    }
  }
}
