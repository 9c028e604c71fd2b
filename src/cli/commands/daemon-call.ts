import { callApi, findDaemon, type CallOptions } from '../../adapters/control-api/control-api-client.ts'
import { resolveDataDir } from '../../adapters/data-dir/data-dir-layout.ts'
import type { CliIo } from '../io.ts'

/** Long operations (put, get) may take hours; the CLI waits as long as the daemon works. */
export const LONG_OPERATION_MS = 7 * 24 * 3_600_000

/** Calls the daemon of the data directory chosen by `--data-dir` / the environment. */
export async function callDaemon<T> (dataDirFlag: string | undefined, io: CliIo, method: 'GET' | 'POST', path: string, body?: unknown, options?: CallOptions): Promise<T> {
  return callApi<T>(await findDaemon(resolveDataDir(dataDirFlag, io.env)), method, path, body, options)
}

export const DATA_DIR_HELP = 'data directory (default: $QULOUD_DATA_DIR or ~/.local/share/quloud)'
