import { LogFile } from '../adapters/logging/log-file.ts'
import { lineLoggerFactory } from '../adapters/logging/stderr-logger.ts'
import type { NodeConfig } from '../domain/config/node-config.ts'
import type { LoggerFactory } from '../ports/logger.ts'

/** The daemon's log as its settings ask: level, text or JSON, stderr or a file. */
export interface DaemonLog {
  loggers: LoggerFactory
  /** Opens the log file again (SIGHUP after logrotate moved it); nothing for stderr. */
  reopen (): Promise<void>
  close (): Promise<void>
}

export async function openDaemonLog (settings: Pick<NodeConfig, 'logLevel' | 'logFormat' | 'logFile'>, stderr: (line: string) => void): Promise<DaemonLog> {
  const file = settings.logFile === undefined ? undefined : await LogFile.open(settings.logFile)
  const write = file === undefined ? stderr : (line: string) => file.write(line)
  return {
    loggers: lineLoggerFactory(write, { level: settings.logLevel, format: settings.logFormat }),
    reopen: async () => file?.reopen(),
    close: async () => file?.close()
  }
}
