import { access, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import { writeAtomic } from '../../adapters/data-dir/atomic-file.ts'
import { assertNodeDir, FILES, resolveDataDir } from '../../adapters/data-dir/data-dir-layout.ts'
import { freeDiskBytes } from '../../adapters/data-dir/free-disk.ts'
import { DEFAULT_CONFIG, OPTIONAL_SETTINGS, parseNodeConfig, type NodeConfig } from '../../domain/config/node-config.ts'
import { formatSize } from '../../domain/config/size.ts'
import { ConfigError, NotFoundError } from '../../errors.ts'
import type { CliIo } from '../io.ts'
import type { ConfigOptions } from './config.ts'
import { settingValue } from './setting-value.ts'


interface ConfigFile {
  path: string
  /** config.json as written: what the operator set. */
  raw: Record<string, unknown>
  /** With the defaults, checked. */
  effective: NodeConfig
}

async function readConfig (options: ConfigOptions, io: CliIo): Promise<ConfigFile> {
  const dataDir = resolveDataDir(options.dataDir, io.env)
  await assertNodeDir(dataDir)
  const path = join(dataDir, FILES.config)
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, { cause: err })
  }
  const effective = parseNodeConfig(raw, path)
  return { path, raw: raw as Record<string, unknown>, effective }
}

/** Every setting in force: config.json over the defaults. */
export async function runConfigList (options: ConfigOptions, io: CliIo): Promise<NodeConfig> {
  const { effective, raw } = await readConfig(options, io)
  if (options.json === true) {
    io.out(JSON.stringify(effective, null, 2) + '\n')
    return effective
  }
  const keys = Object.keys(effective).sort()
  const width = Math.max(...keys.map((k) => k.length))
  for (const key of keys) {
    const value = (effective as unknown as Record<string, unknown>)[key]
    const origin = key in raw && JSON.stringify(raw[key]) !== JSON.stringify((DEFAULT_CONFIG as unknown as Record<string, unknown>)[key]) ? '' : '  (default)'
    io.out(`${key.padEnd(width)}  ${JSON.stringify(value)}${origin}\n`)
  }
  return effective
}

export async function runConfigGet (key: string, options: ConfigOptions, io: CliIo): Promise<unknown> {
  const { effective } = await readConfig(options, io)
  if (!(key in effective) && OPTIONAL_SETTINGS.includes(key)) {
    // unset on purpose: the value is derived (a quarter of the capacity, stderr...)
    io.out(options.json === true ? 'null\n' : '\n')
    return null
  }
  if (!(key in effective)) throw new NotFoundError(`no setting "${key}" (see \`quloud config list\`)`)
  const value = (effective as unknown as Record<string, unknown>)[key]
  io.out((options.json === true || typeof value !== 'string' ? JSON.stringify(value) : value) + '\n')
  return value
}

/**
 * Sets one setting in config.json, checked as the daemon checks the whole file at start
 * (so a value it would refuse is never written), and written atomically. A capacity the
 * disk cannot hold is refused. The running daemon keeps its settings until restarted.
 */
export async function runConfigSet (key: string, text: string | undefined, options: ConfigOptions, io: CliIo): Promise<NodeConfig> {
  const file = await readConfig(options, io)
  const raw = { ...file.raw }
  if (text === undefined) delete raw[key]
  else raw[key] = settingValue(text)
  const effective = parseNodeConfig(raw, 'config set')
  if (key === 'capacity' && text !== undefined) {
    const free = await freeDiskBytes(join(file.path, '..'))
    if (free !== undefined && effective.capacity > free + await storedBytes(file.path)) {
      throw new ConfigError(`capacity ${formatSize(effective.capacity)} is more than the disk can hold (${formatSize(free)} free)`)
    }
  }
  await writeAtomic(file.path, JSON.stringify(raw, null, 2) + '\n', 0o644)
  const value = (effective as unknown as Record<string, unknown>)[key]
  if (options.json === true) io.out(JSON.stringify({ [key]: value ?? null }) + '\n')
  else io.out(text === undefined ? `${key} is back to its default\n` : `${key} = ${JSON.stringify(value)}\n`)
  if (await access(join(file.path, '..', FILES.api)).then(() => true, () => false)) {
    io.err('quloud: the running daemon keeps its settings until it restarts (`quloud stop`, then `quloud start`)\n')
  }
  return effective
}

/** What the chunk store holds already counts as room the capacity has: it is on the disk. */
async function storedBytes (configPath: string): Promise<number> {
  try {
    let total = 0
    for (const entry of await readdir(join(configPath, '..', FILES.chunks), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size
    }
    return total
  } catch {
    return 0
  }
}

