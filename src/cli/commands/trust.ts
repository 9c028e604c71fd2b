import type { Command } from 'commander'
import type { TrustedPeer } from '../../app/admission/allowances.ts'
import { formatSize, parseSize } from '../../domain/config/size.ts'
import { InvalidInputError } from '../../errors.ts'
import type { CliIo } from '../io.ts'
import { callDaemon, DATA_DIR_HELP } from './daemon-call.ts'

export interface TrustOptions {
  dataDir?: string
  json?: boolean
}

export interface TrustAddOptions extends TrustOptions {
  quota: string
  name?: string
}

/** Trusts a peer with `quota` bytes here, whatever it stores for us; changes an existing entry. */
export async function runTrustAdd (peerId: string, options: TrustAddOptions, io: CliIo): Promise<TrustedPeer> {
  let quota: number
  try {
    quota = parseSize(options.quota)
  } catch (err) {
    throw new InvalidInputError(`--quota: ${(err as Error).message}`, { cause: err })
  }
  const added = await callDaemon<TrustedPeer>(options.dataDir, io, 'POST', '/v1/trust/add', { peerId, quota, name: options.name ?? '' })
  io.out(options.json === true ? JSON.stringify(added, null, 2) + '\n' : `trusted ${describe(added)}\n`)
  return added
}

export async function runTrustList (options: TrustOptions, io: CliIo): Promise<TrustedPeer[]> {
  const { peers } = await callDaemon<{ peers: TrustedPeer[] }>(options.dataDir, io, 'GET', '/v1/trust')
  if (options.json === true) io.out(JSON.stringify(peers, null, 2) + '\n')
  else io.out(peers.length === 0 ? 'no trusted peers\n' : peers.map((p) => describe(p) + '\n').join(''))
  return peers
}

export async function runTrustRemove (peerId: string, options: TrustOptions, io: CliIo): Promise<void> {
  await callDaemon(options.dataDir, io, 'POST', '/v1/trust/remove', { peerId })
  io.out(options.json === true ? JSON.stringify({ removed: peerId }) + '\n' : `${peerId} is no longer trusted; what it stores stays, and counts as a stranger's\n`)
}

function describe (peer: TrustedPeer): string {
  return `${peer.peerId}  ${formatSize(peer.quota)}${peer.name === '' ? '' : `  ${peer.name}`}`
}

export function registerTrust (program: Command, io: CliIo): void {
  const trust = program.command('trust')
    .description('peers this node trusts with an explicit quota, above the strangers\' share')
  trust.command('add')
    .description('trust a peer: it may store up to --quota here')
    .argument('<peer-id>', 'the peer\'s id (see `quloud peers`)')
    .requiredOption('--quota <size>', 'bytes it may store here, e.g. 1TB')
    .option('--name <name>', 'a name to show for it')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print JSON')
    .action(async (peerId: string, options: TrustAddOptions) => { await runTrustAdd(peerId, options, io) })
  trust.command('list')
    .description('list trusted peers and their quotas')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print JSON')
    .action(async (options: TrustOptions) => { await runTrustList(options, io) })
  trust.command('remove')
    .description('stop trusting a peer')
    .argument('<peer-id>')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print {removed}')
    .action(async (peerId: string, options: TrustOptions) => { await runTrustRemove(peerId, options, io) })
}
