import { randomInt } from 'node:crypto'
import { dirname } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { initDataDir, isInitialized, resolveDataDir } from '../../adapters/data-dir/data-dir.ts'
import { freeDiskBytes } from '../../adapters/data-dir/free-disk.ts'
import { DEFAULT_CONFIG, parseNodeConfig, type NodeConfig } from '../../domain/config/node-config.ts'
import { formatSize } from '../../domain/config/size.ts'
import { generateMasterSecret, masterSecretToPhrase, phraseToMasterSecret } from '../../domain/crypto/master-secret.ts'
import { DEFAULT_FEDERATION } from '../../domain/membership/federation.ts'
import { AlreadyInitializedError, ConfigError, InvalidInputError } from '../../errors.ts'
import type { CliIo } from '../io.ts'
import { askLine, isTerminal, readPhrase, type PromptInput } from '../read-phrase.ts'
import type { InitOptions } from './init.ts'

/** Words asked back at `init` on a terminal, and tries for each. */
const CONFIRM_WORDS = 3
const CONFIRM_TRIES = 3

/**
 * Creates a node: identity, owner master secret, API key, config from the flags; shows
 * the recovery phrase once. On a terminal (and not --json) the phrase is confirmed
 * before anything is written, so a node whose phrase nobody noted never exists.
 */
export async function runInit (options: InitOptions, io: CliIo, input: PromptInput = process.stdin): Promise<void> {
  const dataDir = resolveDataDir(options.dataDir, io.env)
  if (options.ifMissing === true && await isInitialized(dataDir)) {
    if (options.json !== true) io.err(`quloud: a node already exists in ${dataDir}; using it\n`)
    return
  }
  if (await isInitialized(dataDir)) {
    throw new AlreadyInitializedError(`a Quloud node already exists in ${dataDir}; ${options.recover === true ? 'recover into a new data directory' : 'refusing to overwrite it'}`)
  }
  const interactive = options.json !== true && io.isTty && isTerminal(input)
  let config = settingsOf(options)
  await checkCapacity(dataDir, config, options.capacity !== undefined || options.set?.capacity !== undefined, io)

  if (options.recover === true) {
    // never from argv: a phrase there lands in shell history and `ps` output
    const ownerSecret = phraseToMasterSecret(await readPhrase(io, input))
    if (interactive) config = await askRejoinSettings(options, config, io, input)
    const secrets = await initDataDir(dataDir, ownerSecret, config)
    const peerId = peerIdFromPrivateKey(secrets.identity).toString()
    if (options.json === true) {
      io.out(JSON.stringify({ dataDir, peerId, federation: config.federation, bootstrap: config.bootstrap, recovered: true }) + '\n')
      return
    }
    io.out(`Recovered your owner secret into a new node in ${dataDir}\nPeer id: ${peerId}\n` +
      `Federation: ${config.federation}${config.federation === DEFAULT_FEDERATION ? ' (the default; if your files are in another, `quloud config set federation NAME`)' : ''}, ` +
      `${config.bootstrap.length} bootstrap peer(s), mDNS ${config.mdns ? 'on' : 'off'}\n` +
      'Start it (`quloud start`); once it has found its federation, `quloud ls` fetches your catalogue.\n')
    return
  }

  const ownerSecret = generateMasterSecret()
  const phrase = masterSecretToPhrase(ownerSecret)
  if (interactive) await showAndConfirm(phrase, io, input)
  const secrets = await initDataDir(dataDir, ownerSecret, config)
  const peerId = peerIdFromPrivateKey(secrets.identity).toString()
  if (options.json === true) {
    io.out(JSON.stringify({ dataDir, peerId, federation: config.federation, recoveryPhrase: phrase }) + '\n')
    return
  }
  if (interactive) {
    io.out(`Created a Quloud node in ${dataDir}\nPeer id: ${peerId}\nFederation: ${config.federation}, capacity ${formatSize(config.capacity)}\n`)
    return
  }
  io.out(`Created a Quloud node in ${dataDir}\nPeer id: ${peerId}\n\n` +
    'Recovery phrase (shown only this once; it is the only way to get your files back\n' +
    'if this machine is lost; write it down and keep it offline):\n\n' +
    phrase + '\n')
}

/** The flags as config.json values, checked as config.json is. */
function settingsOf (options: InitOptions): NodeConfig {
  const raw: Record<string, unknown> = { ...options.set }
  if (options.capacity !== undefined) raw.capacity = options.capacity
  if (options.federation !== undefined) raw.federation = options.federation
  if (options.bootstrap !== undefined) raw.bootstrap = options.bootstrap
  if (options.listen !== undefined) raw.listen = options.listen
  if (options.api !== undefined) raw.api = options.api
  if (options.mdns !== undefined) raw.mdns = options.mdns
  return parseNodeConfig(raw, 'init')
}

/**
 * A capacity given at init that the disk cannot hold is refused (exit 7): the operator
 * is there to choose another. The default capacity is only warned about.
 */
async function checkCapacity (dataDir: string, config: NodeConfig, given: boolean, io: CliIo): Promise<void> {
  let probe = dataDir
  let free = await freeDiskBytes(probe)
  while (free === undefined && dirname(probe) !== probe) {
    probe = dirname(probe)
    free = await freeDiskBytes(probe)
  }
  if (free === undefined || config.capacity <= free) return
  const message = `capacity ${formatSize(config.capacity)} is more than the ${formatSize(free)} free on the disk of ${dataDir}`
  if (given) throw new ConfigError(`${message}; choose a smaller --capacity`)
  io.err(`quloud: warning: ${message} (the default); set a smaller one with \`quloud config set capacity SIZE\`\n`)
}

/** The phrase as a numbered grid, then three random words asked back; the grid is cleared once confirmed. */
async function showAndConfirm (phrase: string, io: CliIo, input: PromptInput): Promise<void> {
  const words = phrase.split(' ')
  const rows = 6
  const columns = Math.ceil(words.length / rows)
  const width = Math.max(...words.map((w) => w.length))
  const grid: string[] = []
  for (let r = 0; r < rows; r++) {
    const cells: string[] = []
    for (let c = 0; c < columns; c++) {
      const i = c * rows + r
      if (i < words.length) cells.push(`${String(i + 1).padStart(2)}. ${words[i]!.padEnd(width)}`)
    }
    grid.push('  ' + cells.join('   '))
  }
  io.out('Your recovery phrase: the only way to get your files back if this machine is lost.\n' +
    'Write the 24 words down in order and keep them offline; they are shown only now.\n\n' +
    grid.join('\n') + '\n\n')
  await askLine(io, 'Press Enter once you have written them down. ', input)
  // off the screen and out of the scrollback before the words are asked back
  io.out('\x1b[2J\x1b[3J\x1b[H')
  const asked = new Set<number>()
  while (asked.size < CONFIRM_WORDS) asked.add(randomInt(words.length))
  for (const index of [...asked].sort((a, b) => a - b)) {
    let tries = 0
    while (true) {
      const answer = (await askLine(io, `Word #${index + 1}: `, input)).toLowerCase()
      if (answer === words[index]) break
      if (++tries >= CONFIRM_TRIES) {
        throw new InvalidInputError(`word #${index + 1} was not confirmed; nothing was created. Run \`quloud init\` again for a new phrase`)
      }
      io.err(`That is not word #${index + 1} of what was shown; check what you wrote down.\n`)
    }
  }
  io.err('Confirmed.\n')
}

/** What a recovered node needs to find its files again, asked for unless given as flags. */
async function askRejoinSettings (options: InitOptions, config: NodeConfig, io: CliIo, input: PromptInput): Promise<NodeConfig> {
  const raw: Record<string, unknown> = { ...config }
  if (options.federation === undefined && options.set?.federation === undefined) {
    const name = await askLine(io, `Federation your files are in [${DEFAULT_CONFIG.federation}]: `, input)
    if (name !== '') raw.federation = name
  }
  if (options.bootstrap === undefined && options.set?.bootstrap === undefined) {
    const address = await askLine(io, 'Address of a node of that federation, /ip4/…/tcp/…/p2p/<peer id> (Enter for none: LAN discovery only): ', input)
    if (address !== '') raw.bootstrap = address.split(/[\s,]+/).filter((a) => a !== '')
  }
  return parseNodeConfig(raw, 'init')
}
