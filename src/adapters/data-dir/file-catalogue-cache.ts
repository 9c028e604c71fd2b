import { readFile } from 'node:fs/promises'
import { DataDirError, throwIfAborted } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CachedCatalogue, CatalogueCache } from '../../ports/catalogue-cache.ts'
import { writeAtomic } from './data-dir.ts'

/** The catalogue cache as one JSON file (pieces in base64) in the data directory. */
export class FileCatalogueCache implements CatalogueCache {
  private readonly path: string

  constructor (path: string) {
    this.path = path
  }

  async read (options?: AbortOptions): Promise<CachedCatalogue | undefined> {
    throwIfAborted(options?.signal)
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err: any) {
      if (err?.code === 'ENOENT') return undefined
      throw new DataDirError(`cannot read ${this.path}: ${err?.message}`, { cause: err })
    }
    try {
      const raw = JSON.parse(text) as { pieces: string[], holders: Record<string, string[]> }
      if (!Array.isArray(raw.pieces) || typeof raw.holders !== 'object') throw new Error('wrong shape')
      return { pieces: raw.pieces.map((p) => new Uint8Array(Buffer.from(p, 'base64'))), holders: raw.holders }
    } catch {
      // a damaged cache is only a cache: the federation copy is fetched instead
      return undefined
    }
  }

  async write (value: CachedCatalogue, options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal)
    const json = JSON.stringify({ pieces: value.pieces.map((p) => Buffer.from(p).toString('base64')), holders: value.holders })
    try {
      await writeAtomic(this.path, json, 0o600)
    } catch (err: any) {
      throw new DataDirError(`cannot write ${this.path}: ${err?.message}`, { cause: err })
    }
  }
}
