import { AbortError, InvalidInputError } from '../errors.ts'
import type { CliIo } from './io.ts'

const MAX_PHRASE_CHARS = 1024

/** Standard input as this module uses it: a terminal has raw mode, a pipe does not. */
export type PromptInput = NodeJS.ReadableStream & { isTTY?: boolean, setRawMode?: (raw: boolean) => unknown }

/**
 * The recovery phrase from standard input: a prompt on a terminal, with what is typed
 * kept off the screen, otherwise the first line of piped input. Never from the
 * command line.
 */
export async function readPhrase (io: CliIo, input: PromptInput = process.stdin): Promise<string> {
  return readSecretLine(io, { prompt: 'Enter your 24-word recovery phrase (it is not shown as you type): ', what: 'recovery phrase', maxChars: MAX_PHRASE_CHARS, hidden: true }, input)
}

/**
 * The first non-blank line of standard input, with a prompt on a terminal: how secrets
 * (a recovery phrase, a share code) reach a command without appearing in `ps` or the
 * shell's history. `hidden` also keeps what is typed off a terminal's screen and
 * scrollback: for the phrase, which opens everything; a share code, read out over the
 * phone and typed with care, stays visible.
 */
export async function readSecretLine (io: CliIo, secret: { prompt: string, what: string, maxChars: number, hidden?: boolean }, input: PromptInput = process.stdin): Promise<string> {
  if (secret.hidden === true && isTerminal(input)) {
    while (true) {
      const line = await readHidden(io, secret.prompt, secret.maxChars, input)
      if (line.length > secret.maxChars) throw new InvalidInputError(`the ${secret.what} is too long`)
      if (line.trim() !== '') return line
    }
  }
  if (input.isTTY === true) io.err(secret.prompt)
  const lines = process.getBuiltinModule('node:readline').createInterface({ input, terminal: false })
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

export function isTerminal (input: PromptInput): input is PromptInput & { setRawMode: (raw: boolean) => unknown } {
  return input.isTTY === true && typeof input.setRawMode === 'function'
}

/**
 * One line typed on a terminal in raw mode, echoing nothing: Enter ends it, Backspace
 * and Ctrl-U edit it, Ctrl-C and Ctrl-D (on an empty line) cancel. Input beyond
 * `maxChars` is counted, not kept, so the caller can say it was too long.
 */
async function readHidden (io: CliIo, prompt: string, maxChars: number, input: PromptInput & { setRawMode: (raw: boolean) => unknown }): Promise<string> {
  io.err(prompt)
  input.setRawMode(true)
  input.resume()
  let line = ''
  let overflow = false
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (data: Buffer | string): void => {
        for (const char of data.toString()) {
          if (char === '\r' || char === '\n') return done(() => resolve(overflow ? line + 'x'.repeat(maxChars) : line))
          if (char === '\u0003') return done(() => reject(new AbortError('cancelled at the prompt')))
          if (char === '\u0004' && line === '') return done(() => reject(new AbortError('cancelled at the prompt')))
          if (char === '\u007f' || char === '\b') line = line.slice(0, -1)
          else if (char === '\u0015') line = ''
          else if (char >= ' ') {
            if (line.length < maxChars) line += char
            else overflow = true
          }
        }
      }
      const onEnd = (): void => done(() => reject(new InvalidInputError('standard input ended at the prompt')))
      const done = (settle: () => void): void => {
        input.off('data', onData)
        input.off('end', onEnd)
        settle()
      }
      input.on('data', onData)
      input.on('end', onEnd)
    })
  } finally {
    input.setRawMode(false)
    input.pause()
    io.err('\n')
  }
}

/** One visible answer typed at a prompt on a terminal (a word of the phrase, a federation name). */
export async function askLine (io: CliIo, prompt: string, input: PromptInput = process.stdin): Promise<string> {
  io.err(prompt)
  const lines = process.getBuiltinModule('node:readline').createInterface({ input, terminal: false })
  try {
    for await (const line of lines) return line.trim()
  } finally {
    lines.close()
    input.pause()
  }
  throw new InvalidInputError('standard input ended at the prompt')
}
