import { stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { DataDirError } from '../../errors.ts'

/**
 * The files of one node's data directory. Secrets are mode 0600, the directory 0700.
 * Apart from data-dir.ts so that the CLI's client verbs can find the daemon without
 * loading libp2p's key code.
 *
 *   node.json        marker: format version, creation time
 *   config.json      NodeConfig, user-editable
 *   identity.key     libp2p Ed25519 private key (protobuf)
 *   owner.secret     the owner master secret (32 bytes); the recovery phrase encodes it
 *   node.secret      this node's own 32-byte secret (at-rest encryption keys derive from it)
 *   chunks/          chunk store
 *   metadata/        LevelDB metadata
 *   peers/           LevelDB peer book (federation peers, announcements, liveness)
 *   catalogue.cache  the owner's catalogue, sealed (a cache: the federation copy is the truth)
 *   work-in-flight.jsonl  the owner's journal of records sent and not yet committed, deletes not yet acknowledged
 *   trust.json       peers the operator trusts, with their quotas (`quloud trust`)
 *   receipts/        LevelDB of the receipts this node holds, per storage peer (reciprocity)
 *   repair/          LevelDB of the owner's repair state: distrusted holders, replaced pieces still to delete
 *   manifests/       LevelDB of manifest pieces the owner read (a cache: a restart reads them without a proof)
 *   api.token        the control API key (0600; made at init, kept across restarts, `quloud api-key rotate`)
 *   metrics.token    the key that reads `GET /metrics` and nothing else (0600)
 *   api.json         written by a running daemon for the CLI: its API address and pid
 */
export const FILES = {
  marker: 'node.json',
  config: 'config.json',
  identity: 'identity.key',
  ownerSecret: 'owner.secret',
  nodeSecret: 'node.secret',
  chunks: 'chunks',
  metadata: 'metadata',
  peers: 'peers',
  catalogueCache: 'catalogue.cache',
  workJournal: 'work-in-flight.jsonl',
  trust: 'trust.json',
  receipts: 'receipts',
  repairState: 'repair',
  manifestCache: 'manifests',
  api: 'api.json',
  apiToken: 'api.token',
  metricsToken: 'metrics.token'
} as const

/**
 * Throws DataDirError (exit 3) unless `dir` holds a node, with the command that makes
 * one: what a client verb checks before it looks for a daemon, so a typo in
 * `--data-dir` is not reported as "no daemon running".
 */
export async function assertNodeDir (dir: string): Promise<void> {
  try {
    await stat(join(dir, FILES.marker))
  } catch (err: any) {
    const there = await stat(dir).then((s) => s.isDirectory(), () => false)
    throw new DataDirError(there
      ? `${dir} holds no Quloud node; create one with \`quloud init --data-dir ${dir}\` (or point --data-dir / QULOUD_DATA_DIR at yours)`
      : `no data directory at ${dir}; create a node with \`quloud init --data-dir ${dir}\` (or point --data-dir / QULOUD_DATA_DIR at yours)`, { cause: err })
  }
}

/** `--data-dir`, else `QULOUD_DATA_DIR`, else `$XDG_DATA_HOME/quloud`, else `~/.local/share/quloud`. */
export function resolveDataDir (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env.QULOUD_DATA_DIR ?? join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'quloud')
  if (chosen.trim() === '') throw new DataDirError('the data directory path is empty')
  return resolve(chosen)
}
