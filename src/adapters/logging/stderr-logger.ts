import { logger as debugLogger } from '@libp2p/logger'
import type { Logger, LoggerFactory } from '../../ports/logger.ts'

/**
 * The daemon's readable log: one line per event on stderr,
 * `2026-11-23T10:00:00.000Z INFO  quloud:node message`. `debug` goes through
 * libp2p's debug-style logger, so `DEBUG=quloud:*,libp2p:*` shows both.
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

/**
 * Messages carry what peers sent (chunk ids, error texts, addresses): a newline or an
 * ANSI escape in one would forge a log line or rewrite the operator's terminal. Every
 * control character is written as a visible escape, so one event stays one line.
 */
export function escapeControls (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** A logger factory that drops everything: for tests and library use. */
export const silentLoggerFactory: LoggerFactory = () => ({ debug () {}, info () {}, warn () {}, error () {} })
