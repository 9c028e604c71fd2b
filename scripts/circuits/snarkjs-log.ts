// snarkjs reports progress, and the hashes a contributor publishes, only through the
// logger it is given. The ceremony prints some of it and reads the hashes back from it:
// zkey verify returns a boolean and names each contribution's hash only in its log.

export interface SnarkjsLogger {
  debug: (...args: unknown[]) => void
  info: (...args: unknown[]) => void
  warn: (...args: unknown[]) => void
  error: (...args: unknown[]) => void
}

/** Prints snarkjs' info, warnings and errors indented under the step that runs. */
export const consoleLogger: SnarkjsLogger = {
  debug: () => {},
  info: (...args: unknown[]) => { console.log('  ', ...args) },
  warn: (...args: unknown[]) => { console.warn('  warning:', ...args) },
  error: (...args: unknown[]) => { console.error('  error:', ...args) }
}

/** A logger that keeps every message (joined as snarkjs' logger would print it). */
export function recordingLogger (): { logger: SnarkjsLogger, info: string[], errors: string[] } {
  const info: string[] = []
  const errors: string[] = []
  const text = (args: unknown[]) => args.map(String).join(' ')
  return {
    info,
    errors,
    logger: {
      debug: () => {},
      info: (...args: unknown[]) => { info.push(text(args)) },
      warn: (...args: unknown[]) => { errors.push(text(args)) },
      error: (...args: unknown[]) => { errors.push(text(args)) }
    }
  }
}

/**
 * A 64-byte BLAKE2b hash the way snarkjs prints it (misc.formatHash): four lines of four
 * 8-digit hex groups. A contributor compares these lines with what snarkjs showed them.
 */
export function formatSnarkjsHash (hex: string): string {
  const groups = hex.match(/.{8}/g) ?? []
  return [0, 1, 2, 3].map((line) => '\t\t' + groups.slice(line * 4, line * 4 + 4).join(' ')).join('\n')
}

const HASH_LINES = String.raw`((?:\t\t[0-9a-f]{8}(?: [0-9a-f]{8}){3}\n?){4})`
const CONTRIBUTION = new RegExp(String.raw`^contribution #(\d+) (.*):\n` + HASH_LINES + '$', 's')
const CIRCUIT = new RegExp(String.raw`^Circuit [Hh]ash: \n` + HASH_LINES + '$')

const hexOf = (lines: string) => lines.replace(/\s/g, '')

export interface LoggedContribution {
  name: string
  hash: string
  /** Set when the contribution is a beacon (snarkjs type 1): its value (hex) and iteration exponent. */
  beacon?: { hash: string, iterationsExp: number }
}

const BEACON_HASH = /^Beacon generator: ([0-9a-f]*)$/
const BEACON_ITERATIONS = /^Beacon iterations Exp: (\d+)$/

/**
 * The contributions `zkey verify` listed in its log, in chain order. It lists the newest
 * first, each followed by its beacon parameters when it is a beacon.
 */
export function loggedContributions (info: readonly string[]): LoggedContribution[] {
  const found: Array<LoggedContribution & { position: number }> = []
  for (const message of info) {
    const match = CONTRIBUTION.exec(message)
    if (match !== null) {
      found.push({ position: Number(match[1]), name: match[2]!, hash: hexOf(match[3]!) })
      continue
    }
    const last = found.at(-1)
    const hash = BEACON_HASH.exec(message)
    if (hash !== null && last !== undefined) last.beacon = { hash: hash[1]!, iterationsExp: NaN }
    const iterations = BEACON_ITERATIONS.exec(message)
    if (iterations !== null && last?.beacon !== undefined) last.beacon.iterationsExp = Number(iterations[1])
  }
  found.sort((a, b) => a.position - b.position)
  return found.map(({ position: _, ...c }) => c)
}

/** The circuit hash (of the r1cs) that `zkey new` and `zkey verify` print, or undefined. */
export function loggedCircuitHash (info: readonly string[]): string | undefined {
  for (const message of info) {
    const match = CIRCUIT.exec(message)
    if (match !== null) return hexOf(match[1]!)
  }
  return undefined
}
