import { createInterface } from 'node:readline'
import { InvalidInputError } from '../errors.ts'
import type { CliIo } from './io.ts'

const MAX_PHRASE_CHARS = 1024

/**
 * The recovery phrase from standard input: a prompt on a terminal, otherwise the
 * first line of piped input. Never from the command line.
 */
export async function readPhrase (io: CliIo, input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  return readSecretLine(io, { prompt: 'Enter your 24-word recovery phrase: ', what: 'recovery phrase', maxChars: MAX_PHRASE_CHARS }, input)
}

/**
 * The first non-blank line of standard input, with a prompt on a terminal: how secrets
 * (a recovery phrase, a share code) reach a command without appearing in `ps` or the
 * shell's history.
 */
export async function readSecretLine (io: CliIo, secret: { prompt: string, what: string, maxChars: number }, input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const terminal = (input as { isTTY?: boolean }).isTTY === true
  if (terminal) io.err(secret.prompt)
  const lines = createInterface({ input, terminal: false })
  try {
    for await (const line of lines) {
      if (line.length > secret.maxChars) throw new InvalidInputError(`the ${secret.what} is too long`)
      if (line.trim() !== '') return line
    }
  } finally {
    lines.close()
  }
  throw new InvalidInputError(`no ${secret.what} on standard input (pipe it in, or type it at the prompt)`)
}
