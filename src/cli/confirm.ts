import { InvalidInputError } from '../errors.ts'
import type { CliIo } from './io.ts'

/**
 * Asks before a deletion that cannot be undone: on a terminal a y/N question naming what
 * goes (anything but y or yes declines), elsewhere a refusal unless the caller passed --yes.
 */
export async function confirmDeletion (io: CliIo, what: string, yes: boolean | undefined, input: NodeJS.ReadableStream): Promise<void> {
  if (yes === true) return
  if ((input as { isTTY?: boolean }).isTTY !== true) {
    throw new InvalidInputError(`this would delete ${what} from every holder, which cannot be undone; without a terminal to confirm on, add --yes`)
  }
  io.err(`Delete ${what} from every holder and the catalogue? This cannot be undone. [y/N] `)
  const lines = process.getBuiltinModule('node:readline').createInterface({ input, terminal: false })
  try {
    for await (const line of lines) {
      if (/^\s*y(es)?\s*$/i.test(line)) return
      break
    }
  } finally {
    lines.close()
  }
  throw new InvalidInputError('nothing removed')
}
