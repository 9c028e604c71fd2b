import type { Command } from 'commander'
import type { Revocation, SharedEntry } from '../../app/owner/owner-service.ts'
import type { CliIo } from '../io.ts'
import { printable } from '../../util/control-characters.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface SharesOptions {
  dataDir?: string
  json?: boolean
}

/** Lists the files that were shared, with each share's label, time and expiry. */
export async function runShares (options: SharesOptions, io: CliIo): Promise<SharedEntry[]> {
  const shared = await callDaemon<SharedEntry[]>(options.dataDir, io, 'GET', '/v1/shares')
  if (options.json === true) {
    io.out(JSON.stringify(shared, null, 2) + '\n')
    return shared
  }
  if (shared.length === 0) io.out('nothing is shared\n')
  for (const entry of shared) {
    io.out(`${printable(entry.name)} (${entry.fileId})\n`)
    for (const share of entry.shares) {
      const expiry = share.expiresAt === undefined ? 'no expiry' : `expires ${new Date(share.expiresAt).toString()}`
      io.out(`  ${share.label === '' ? '(no label)' : printable(share.label)}: shared ${new Date(share.createdAt).toString()}, ${expiry}\n`)
    }
  }
  return shared
}

/** Revokes every share of one file: the file is rotated to new keys and the old copy deleted. */
export async function runUnshare (ref: string, options: SharesOptions, io: CliIo): Promise<Revocation> {
  const revoked = await callDaemon<Revocation>(options.dataDir, io, 'POST', '/v1/unshare', { ref }, { timeoutMs: LONG_OPERATION_MS })
  if (options.json === true) {
    io.out(JSON.stringify(revoked, null, 2) + '\n')
    return revoked
  }
  io.out(`revoked ${revoked.revoked} share(s) of ${printable(revoked.name)}: the file is now ${revoked.fileId} under new keys, and old codes fetch nothing\n`)
  if (revoked.unreachable.length > 0) {
    io.out(`warning: ${revoked.unreachable.length} holder(s) of the old copy did not answer; an old code can still read it there until \`quloud rm\` reaches them\n`)
  }
  return revoked
}

export function registerShares (program: Command, io: CliIo): void {
  program.command('shares')
    .description('list the files you shared, with labels and expiry')
    .option('--json', 'print them as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (options: SharesOptions) => { await runShares(options, io) })
  program.command('unshare')
    .description('revoke every share of one file: it is re-stored under new keys and the old copy deleted')
    .argument('<file-id|name>', 'an id or name from `quloud ls`')
    .option('--json', 'print the result as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (ref: string, options: SharesOptions) => { await runUnshare(ref, options, io) })
}
