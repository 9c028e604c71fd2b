import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Command } from 'commander'
import { initDataDir, isInitialized, resolveDataDir } from '../../adapters/data-dir/data-dir.ts'
import { generateMasterSecret, masterSecretToPhrase, phraseToMasterSecret } from '../../domain/crypto/master-secret.ts'
import { AlreadyInitializedError } from '../../errors.ts'
import { readPhrase } from '../read-phrase.ts'
import type { CliIo } from '../io.ts'

export interface InitOptions {
  dataDir?: string
  json?: boolean
  ifMissing?: boolean
  recover?: boolean
}

/** Creates a node: identity, owner master secret, config; shows the recovery phrase once. */
export async function runInit (options: InitOptions, io: CliIo): Promise<void> {
  const dataDir = resolveDataDir(options.dataDir, io.env)
  if (options.ifMissing === true && await isInitialized(dataDir)) {
    if (options.json !== true) io.err(`quloud: a node already exists in ${dataDir}; using it\n`)
    return
  }
  if (options.recover === true) {
    if (await isInitialized(dataDir)) throw new AlreadyInitializedError(`a Quloud node already exists in ${dataDir}; recover into a new data directory`)
    // never from argv: a phrase there lands in shell history and `ps` output
    const ownerSecret = phraseToMasterSecret(await readPhrase(io))
    const secrets = await initDataDir(dataDir, ownerSecret)
    const peerId = peerIdFromPrivateKey(secrets.identity).toString()
    if (options.json === true) {
      io.out(JSON.stringify({ dataDir, peerId, recovered: true }) + '\n')
    } else {
      io.out(`Recovered your owner secret into a new node in ${dataDir}\nPeer id: ${peerId}\n` +
        'Start it (`quloud start`); once it has found its federation, `quloud ls` fetches your catalogue.\n')
    }
    return
  }
  const ownerSecret = generateMasterSecret()
  const secrets = await initDataDir(dataDir, ownerSecret)
  const phrase = masterSecretToPhrase(ownerSecret)
  const peerId = peerIdFromPrivateKey(secrets.identity).toString()
  if (options.json === true) {
    io.out(JSON.stringify({ dataDir, peerId, recoveryPhrase: phrase }) + '\n')
    return
  }
  io.out(`Created a Quloud node in ${dataDir}\nPeer id: ${peerId}\n\n` +
    'Recovery phrase (shown only this once; it is the only way to get your files back\n' +
    'if this machine is lost; write it down and keep it offline):\n\n' +
    phrase + '\n')
}

export function registerInit (program: Command, io: CliIo): void {
  program.command('init')
    .description('create a node: identity, owner master secret, config; prints the recovery phrase once')
    .option('--data-dir <dir>', 'data directory (default: $QULOUD_DATA_DIR or ~/.local/share/quloud)')
    .option('--json', 'print {dataDir, peerId, recoveryPhrase} as JSON')
    .option('--if-missing', 'do nothing (exit 0) when the data directory already holds a node')
    .option('--recover', 'recreate the owner secret from the 24-word recovery phrase, read from standard input')
    .action(async (options: InitOptions) => runInit(options, io))
}
