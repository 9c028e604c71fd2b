import type { Command } from 'commander'
import { callApi, findDaemon } from '../../adapters/control-api/control-api-client.ts'
import { resolveDataDir } from '../../adapters/data-dir/data-dir-layout.ts'
import type { CliIo } from '../io.ts'
import { DATA_DIR_HELP } from './daemon-call.ts'

export interface DashboardOptions {
  dataDir?: string
  json?: boolean
  /** Hand the link to the desktop's browser (xdg-open) as well as printing it. */
  open?: boolean
}

export interface DashboardLink {
  url: string
  expiresAt: number
  lan?: string
}

/**
 * Asks the daemon for a one-time login link to its web dashboard and prints it. The
 * link works once, for a few minutes; the page it opens swaps it for a session cookie
 * and drops it from the address bar.
 */
export async function runDashboard (options: DashboardOptions, io: CliIo): Promise<DashboardLink> {
  const daemon = await findDaemon(resolveDataDir(options.dataDir, io.env))
  const link = await callApi<DashboardLink>(daemon, 'POST', '/v1/dashboard/link')
  if (options.json === true) io.out(JSON.stringify(link) + '\n')
  else {
    io.out(`${link.url}\n`)
    io.err(`one-time login link, valid until ${new Date(link.expiresAt).toLocaleTimeString()}; open it in a browser on this machine${link.lan === undefined ? '' : ` (from the LAN: ${link.lan}, with the dashboard password)`}\n`)
  }
  if (options.open === true) {
    // no browser is not a failure: the link is printed already
    const child = process.getBuiltinModule('node:child_process').spawn('xdg-open', [link.url], { stdio: 'ignore', detached: true })
    child.on('error', () => io.err('could not start a browser (xdg-open); open the link by hand\n'))
    child.unref()
  }
  return link
}

export function registerDashboard (program: Command, io: CliIo): void {
  program.command('dashboard')
    .description('print a one-time login link to the web dashboard (http://127.0.0.1:4102/ui/)')
    .option('--open', 'also open it in the desktop browser')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print {url, expiresAt, lan?}')
    .action(async (options: DashboardOptions) => { await runDashboard(options, io) })
}
