import type { Command } from 'commander'
import type { GivenShare } from '../../app/owner/owner-service.ts'
import { parseDuration } from '../../domain/config/duration.ts'
import { formatSize } from '../../domain/config/size.ts'
import { InvalidInputError } from '../../errors.ts'
import type { CliIo } from '../io.ts'
import { callDaemon, DATA_DIR_HELP } from './daemon-call.ts'

export interface ShareOptions {
  dataDir?: string
  label?: string
  /** A duration (`7d`, `12h`, `30m`): the owner's node revokes the share then. */
  expires?: string
  /** Also a one-time short code, valid this long (default 10m). */
  short?: string | boolean
  json?: boolean
}

/**
 * Prints a share code for one file. On a terminal a QR code comes first; the code
 * itself is always the last line, so `quloud share X | tail -1` is the code.
 */
export async function runShare (ref: string, options: ShareOptions, io: CliIo): Promise<string> {
  const expiresInMs = options.expires === undefined ? undefined : durationOption('--expires', options.expires, MAX_SHARE_LIFETIME_MS)
  const shortCodeTtlMs = options.short === undefined || options.short === false
    ? undefined
    : durationOption('--short', options.short === true ? '10m' : options.short, MAX_SHORT_CODE_MS)
  const shared = await callDaemon<GivenShare>(options.dataDir, io, 'POST', '/v1/share', {
    ref,
    ...(options.label === undefined ? {} : { label: options.label }),
    ...(expiresInMs === undefined ? {} : { expiresInMs }),
    ...(shortCodeTtlMs === undefined ? {} : { shortCodeTtlMs })
  }, { timeoutMs: 120_000 })
  if (options.json === true) {
    io.out(JSON.stringify(shared, null, 2) + '\n')
    return shared.code
  }
  if (io.isTty) {
    // the QR encoder loads only when there is a terminal to draw on
    const { shareCodeQr } = await import('../share-code-qr.ts')
    io.out(await shareCodeQr(shared.code))
    const until = shared.expiresAt === undefined ? 'until you run `quloud unshare`' : `until ${new Date(shared.expiresAt).toString()}`
    io.out(`\nShare code for ${shared.name} (${formatSize(shared.size)}), valid ${until}. Whoever has it can fetch and read this file; it cannot change or delete it:\n`)
    if (shared.earlier > 0) io.out(`(this file was shared ${shared.earlier} time(s) before: it is the same code, and revoking one revokes all)\n`)
  }
  if (shared.shortCode !== undefined) {
    const until = new Date(shared.shortCode.expiresAt).toLocaleTimeString()
    io.out(`Short code, to read out; works once, until ${until}, while this node is online: ${shared.shortCode.code}\n`)
  }
  io.out(shared.code + '\n')
  return shared.code
}

/** Ten years: longer is no expiry at all. */
const MAX_SHARE_LIFETIME_MS = 3650 * 86_400_000
/** A short code is for the minutes of a phone call (the sharer's node allows up to an hour). */
const MAX_SHORT_CODE_MS = 60 * 60_000

function durationOption (flag: string, text: string, maxMs: number): number {
  try {
    const ms = parseDuration(text, maxMs)
    if (ms === 0) throw new InvalidInputError('it must be a positive duration')
    return ms
  } catch (err) {
    throw new InvalidInputError(`${flag}: ${(err as Error).message}`)
  }
}

export function registerShare (program: Command, io: CliIo): void {
  program.command('share')
    .description('print a read-only share code for one file (and a QR code on a terminal); the code is the last line')
    .argument('<file-id|name>', 'an id or name from `quloud ls`')
    .option('--label <text>', 'who it is for, shown by `quloud shares`')
    .option('--expires <duration>', 'revoke it automatically after this long, e.g. 7d, 12h, 30m')
    .option('--short [duration]', 'also print a one-time short code to read out (valid 10m, or the duration given, at most 1h)')
    .option('--json', 'print the share as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (ref: string, options: ShareOptions) => { await runShare(ref, options, io) })
}
