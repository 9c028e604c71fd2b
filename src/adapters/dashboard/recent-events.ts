import type { Logger, LoggerFactory } from '../../ports/logger.ts'

/** One line of the dashboard's activity or log view. */
export interface RecentEvent {
  at: number
  level: 'debug' | 'info' | 'warn' | 'error'
  /** The logger's namespace, or `activity` for an owner operation. */
  source: string
  message: string
}

/**
 * The last `limit` events, oldest first: what the dashboard's activity and log pages
 * show. Bounded, so a chatty daemon costs a fixed amount of memory.
 */
export class RecentEvents {
  private readonly limit: number
  private readonly events: RecentEvent[] = []

  constructor (limit = 500) {
    this.limit = limit
  }

  push (event: RecentEvent): void {
    this.events.push(event)
    if (this.events.length > this.limit) this.events.splice(0, this.events.length - this.limit)
  }

  list (): RecentEvent[] {
    return [...this.events]
  }

  /**
   * The same loggers, each line also kept here. Debug lines are left out: they would
   * push the useful ones out of a small window within seconds.
   */
  tee (loggers: LoggerFactory): LoggerFactory {
    return (namespace) => {
      const inner = loggers(namespace)
      const keep = (level: RecentEvent['level'], message: string, args: unknown[]): void => {
        const detail = args.map(shown).join(' ')
        this.push({ at: Date.now(), level, source: namespace, message: detail === '' ? message : `${message} ${detail}` })
      }
      const logger: Logger = {
        debug: (message, ...args) => inner.debug(message, ...args),
        info: (message, ...args) => { keep('info', message, args); inner.info(message, ...args) },
        warn: (message, ...args) => { keep('warn', message, args); inner.warn(message, ...args) },
        error: (message, ...args) => { keep('error', message, args); inner.error(message, ...args) }
      }
      return logger
    }
  }
}

/** An argument as one line of text; never throws (a BigInt or a cycle would make JSON.stringify throw inside a log call). */
function shown (arg: unknown): string {
  if (arg instanceof Error) return arg.message
  if (typeof arg === 'string') return arg
  try {
    return JSON.stringify(arg) ?? String(arg)
  } catch {
    return String(arg)
  }
}
