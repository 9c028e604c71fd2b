import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { AlreadyInitializedError, ConfigError, DataDirError } from '../../errors.ts'
import { DEFAULT_CONFIG, parseNodeConfig, type NodeConfig } from '../../domain/config/node-config.ts'
import { writeAtomic } from './atomic-file.ts'
import { createApiKeys } from './api-keys.ts'
import { FILES } from './data-dir-layout.ts'

export { FILES, resolveDataDir } from './data-dir-layout.ts'
export { writeAtomic } from './atomic-file.ts'

const FORMAT = 1

export interface NodeSecrets {
  identity: PrivateKey
  ownerSecret: Uint8Array
  nodeSecret: Uint8Array
}

/** Creates a node in `dir`, which must be missing or empty of Quloud files. */
export async function initDataDir (dir: string, ownerSecret: Uint8Array, config: NodeConfig = DEFAULT_CONFIG): Promise<NodeSecrets> {
  if (await exists(join(dir, FILES.marker)) || await exists(join(dir, FILES.identity))) {
    throw new AlreadyInitializedError(`a Quloud node already exists in ${dir}; refusing to overwrite it`)
  }
  const identity = await generateKeyPair('Ed25519')
  const nodeSecret = randomBytes(32)
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    // mkdir's mode applies only to a directory it creates: one made beforehand (a
    // container volume, `mkdir ~/quloud`) would keep 0755 or 0777 around the secrets
    await chmod(dir, 0o700)
    await writeAtomic(join(dir, FILES.identity), privateKeyToProtobuf(identity), 0o600)
    await writeAtomic(join(dir, FILES.ownerSecret), ownerSecret, 0o600)
    await writeAtomic(join(dir, FILES.nodeSecret), nodeSecret, 0o600)
    await writeAtomic(join(dir, FILES.config), JSON.stringify(config, null, 2) + '\n', 0o644)
    await createApiKeys(dir)
    // the marker last: a node exists once every file it needs does
    await writeAtomic(join(dir, FILES.marker), JSON.stringify({ format: FORMAT, createdAt: new Date().toISOString() }) + '\n', 0o644)
  } catch (err: any) {
    throw new DataDirError(`cannot create the node in ${dir}: ${err?.message}`, { cause: err })
  }
  return { identity, ownerSecret, nodeSecret }
}

/** Reads an initialised node's secrets; DataDirError when `dir` holds no node. */
export async function loadSecrets (dir: string): Promise<NodeSecrets> {
  await assertInitialized(dir)
  const identityBytes = await readDataFile(dir, FILES.identity)
  let identity: PrivateKey
  try {
    identity = privateKeyFromProtobuf(identityBytes)
  } catch (err) {
    throw new DataDirError(`${join(dir, FILES.identity)} is not a libp2p private key`, { cause: err })
  }
  const ownerSecret = await readDataFile(dir, FILES.ownerSecret)
  const nodeSecret = await readDataFile(dir, FILES.nodeSecret)
  for (const [name, bytes] of [[FILES.ownerSecret, ownerSecret], [FILES.nodeSecret, nodeSecret]] as const) {
    if (bytes.byteLength !== 32) throw new DataDirError(`${join(dir, name)} must hold 32 bytes, has ${bytes.byteLength}`)
  }
  return { identity, ownerSecret, nodeSecret }
}

export async function loadConfig (dir: string): Promise<NodeConfig> {
  await assertInitialized(dir)
  const path = join(dir, FILES.config)
  const text = (await readDataFile(dir, FILES.config)).toString()
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  return parseNodeConfig(raw, path)
}

export async function assertInitialized (dir: string): Promise<void> {
  let info
  try {
    info = await stat(dir)
  } catch (err: any) {
    if (err?.code === 'ENOENT') throw new DataDirError(`no data directory at ${dir}; run \`quloud init --data-dir ${dir}\` first`, { cause: err })
    throw new DataDirError(`cannot read the data directory ${dir}: ${err?.message}`, { cause: err })
  }
  if (!info.isDirectory()) throw new DataDirError(`${dir} is not a directory`)
  if (!await exists(join(dir, FILES.marker))) {
    throw new DataDirError(`${dir} holds no Quloud node; run \`quloud init --data-dir ${dir}\` first`)
  }
}

export async function isInitialized (dir: string): Promise<boolean> {
  return exists(join(dir, FILES.marker))
}

export async function readDataFile (dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name))
  } catch (err: any) {
    throw new DataDirError(`cannot read ${join(dir, name)}: ${err?.message}`, { cause: err })
  }
}

async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err: any) {
    if (err?.code === 'ENOENT' || err?.code === 'ENOTDIR') return false
    throw new DataDirError(`cannot read ${path}: ${err?.message}`, { cause: err })
  }
}
