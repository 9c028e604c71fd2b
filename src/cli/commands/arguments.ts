import { InvalidArgumentError } from 'commander'
import { parseSize } from '../../domain/config/size.ts'

/** commander argument parser for counts and version numbers: a whole number from 1. */
export function positiveArgument (value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number from 1')
  return n
}

/** commander argument parser for a point in time (what Date.parse reads: ISO dates, local times): unix ms. */
export function timeArgument (value: string): number {
  const ms = Date.parse(value)
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`not a date or time: ${value} (e.g. 2026-11-30 or 2026-11-30T18:00)`)
  return ms
}

/** commander argument parser for sizes: a bad value is a usage error (exit 2). */
export function sizeArgument (value: string): number {
  try {
    return parseSize(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}
