import { buildBn128, type BnCurve } from 'ffjavascript'

/**
 * The process-wide, multi-threaded BN254 curve of ffjavascript, shared by reference count.
 *
 * snarkjs' groth16.prove builds its curve with `buildBn128()`, which returns one
 * process-wide instance (`globalThis.curve_bn128`) with a worker thread per core; those
 * workers keep the process alive until the curve is terminated. Holders acquire it
 * before their first snarkjs call (so snarkjs reuses it rather than making an orphan)
 * and release it on close; the last release terminates the workers. A new acquire
 * after that waits for the termination and builds a fresh curve.
 */
export interface SharedBn128 {
  curve: BnCurve
  /** Idempotent. Terminates the workers when no holder is left. */
  release (): Promise<void>
}

let current: { curve: Promise<BnCurve>, holders: number } | undefined
let terminating: Promise<void> = Promise.resolve()

export async function acquireSharedBn128 (): Promise<SharedBn128> {
  if (current === undefined) {
    const after = terminating
    current = { curve: after.then(async () => buildBn128()), holders: 0 }
  }
  const entry = current
  entry.holders++
  let released = false
  const release = async (): Promise<void> => {
    if (released) return
    released = true
    entry.holders--
    if (entry.holders === 0 && current === entry) {
      current = undefined
      terminating = entry.curve.then(async (c) => c.terminate(), () => {})
    }
    await terminating
  }
  try {
    return { curve: await entry.curve, release }
  } catch (err) {
    await release()
    throw err
  }
}
