import { createInterface } from 'node:readline'
import { InvalidInputError } from '../errors.ts'
import type { CliIo } from './io.ts'

const MAX_PHRASE_CHARS = 1024

/**
 * The recovery phrase from standard input: a prompt on a terminal, otherwise the
 * first line of piped input. Never from the command line.
 */
export async function readPhrase (io: CliIo, input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const terminal = (input as { isTTY?: boolean }).isTTY === true
  if (terminal) io.err('Enter your 24-word recovery phrase: ')
  const lines = createInterface({ input, terminal: false })
  try {
    for await (const line of lines) {
      if (line.length > MAX_PHRASE_CHARS) throw new InvalidInputError('the recovery phrase is too long')
      if (line.trim() !== '') return line
    }
  } finally {
    lines.close()
  }
  throw new InvalidInputError('no recovery phrase on standard input (pipe it in, or type it at the prompt)')
}
