import { InvalidArgumentError } from 'commander'
import { parseSize } from '../../domain/config/size.ts'

/** commander argument parser for sizes: a bad value is a usage error (exit 2). */
export function sizeArgument (value: string): number {
  try {
    return parseSize(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}
