import { logger as debugLogger } from '@libp2p/logger'
import type { LogLevel } from '../../domain/config/node-config.ts'
import type { Logger, LoggerFactory } from '../../ports/logger.ts'
import { escapeControls } from '../../util/control-characters.ts'

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

export interface LineLoggerOptions {
  /** Lowest level written (default info); below it `debug` still reaches `DEBUG=quloud:*`. */
  level?: LogLevel
  /** `text`: `2026-11-23T10:00:00.000Z INFO  quloud:node message`; `json`: one object per line. */
  format?: 'text' | 'json'
  now?: () => Date
}

/**
 * The daemon's log: one line per event through `write` (stderr, or a log file).
 * In text, messages carry what peers sent (chunk ids, error texts), so their control
 * characters are escaped; in JSON the encoder escapes them. `debug` also goes through
 * libp2p's debug-style logger, so `DEBUG=quloud:*,libp2p:*` shows both whatever the level.
 */
export function lineLoggerFactory (write: (line: string) => void, options: LineLoggerOptions = {}): LoggerFactory {
  const threshold = RANK[options.level ?? 'info']
  const now = options.now ?? (() => new Date())
  return (namespace: string): Logger => {
    const ns = `quloud:${namespace}`
    const debug = debugLogger(ns)
    const line = (level: LogLevel) => (message: string, ...args: unknown[]) => {
      if (level === 'debug') debug(message, ...args)
      if (RANK[level] < threshold) return
      const extra = args.map((a) => a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a)).join(' ')
      if (options.format === 'json') {
        write(JSON.stringify({ time: now().toISOString(), level, ns, msg: message, ...(extra === '' ? {} : { detail: extra }) }) + '\n')
      } else {
        write(`${now().toISOString()} ${level.toUpperCase().padEnd(5)} ${ns} ${escapeControls(message)}${extra === '' ? '' : ' ' + escapeControls(extra)}\n`)
      }
    }
    return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
  }
}

/** The readable text log on stderr at level info: what tests and benches use. */
export function stderrLoggerFactory (write: (line: string) => void = (line) => process.stderr.write(line)): LoggerFactory {
  return lineLoggerFactory(write)
}

/** A logger factory that drops everything: for tests and library use. */
export const silentLoggerFactory: LoggerFactory = () => ({ debug () {}, info () {}, warn () {}, error () {} })
