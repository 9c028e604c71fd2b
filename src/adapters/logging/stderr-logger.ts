import { logger as debugLogger } from '@libp2p/logger'
import type { Logger, LoggerFactory } from '../../ports/logger.ts'
import { escapeControls } from '../../util/control-characters.ts'

/**
 * The daemon's readable log: one line per event on stderr,
 * `2026-11-23T10:00:00.000Z INFO  quloud:node message`. `debug` goes through
 * libp2p's debug-style logger, so `DEBUG=quloud:*,libp2p:*` shows both. Messages carry
 * what peers sent (chunk ids, error texts), so their control characters are escaped.
 */
export function stderrLoggerFactory (write: (line: string) => void = (line) => process.stderr.write(line)): LoggerFactory {
  return (namespace: string): Logger => {
    const ns = `quloud:${namespace}`
    const debug = debugLogger(ns)
    const line = (level: string) => (message: string, ...args: unknown[]) => {
      const extra = args.map((a) => a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a)).join(' ')
      write(`${new Date().toISOString()} ${level.padEnd(5)} ${ns} ${escapeControls(message)}${extra === '' ? '' : ' ' + escapeControls(extra)}\n`)
    }
    return {
      debug: (message, ...args) => debug(message, ...args),
      info: line('INFO'),
      warn: line('WARN'),
      error: line('ERROR')
    }
  }
}

/** A logger factory that drops everything: for tests and library use. */
export const silentLoggerFactory: LoggerFactory = () => ({ debug () {}, info () {}, warn () {}, error () {} })
