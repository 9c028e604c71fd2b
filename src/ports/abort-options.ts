/** Options every asynchronous port method accepts. */
export interface AbortOptions {
  /** When it fires, the call rejects with AbortError and leaves no partial effect. */
  signal?: AbortSignal
}
