import { randomBytes } from 'node:crypto'
import { mkdir, open, opendir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { AbortError, NotFoundError, StorageError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ChunkId, ChunkStore } from '../../ports/chunk-store.ts'
import { isChunkId } from '../../domain/formats/chunk-id.ts'
import { KeyedMutex } from '../../util/keyed-mutex.ts'
import { checkCall, checkValue } from './checks.ts'
import { PendingWork } from '../../util/pending-work.ts'

export interface FsChunkStoreInit {
  /** Directory that holds `chunks/` and `tmp/`; created when missing. */
  root: string
}

/**
 * Content-addressed chunks on a filesystem: `chunks/<shard>/<id>` where the shard is
 * the id's next-to-last two characters (as IPFS' flatfs does: the tail of a CID is
 * uniformly distributed, its head is not).
 *
 * Writes go to `tmp/`, are fsynced, renamed into place and the shard directory is
 * fsynced, so after a crash a chunk is either whole or absent; `open` clears `tmp/`.
 */
export class FsChunkStore implements ChunkStore {
  private readonly chunksDir: string
  private readonly tmpDir: string
  private readonly locks = new KeyedMutex()
  private used: number | undefined
  private closed = false
  private readonly pending = new PendingWork()

  private constructor (root: string) {
    this.chunksDir = join(root, 'chunks')
    this.tmpDir = join(root, 'tmp')
  }

  static async open (init: FsChunkStoreInit): Promise<FsChunkStore> {
    const store = new FsChunkStore(init.root)
    await storage(async () => {
      await mkdir(store.chunksDir, { recursive: true })
      // leftovers of writes cut off by a crash: never visible, now removed
      await rm(store.tmpDir, { recursive: true, force: true })
      await mkdir(store.tmpDir, { recursive: true })
    })
    return store
  }

  private pathOf (id: ChunkId): { dir: string, file: string } {
    const dir = join(this.chunksDir, id.slice(-3, -1))
    return { dir, file: join(dir, id) }
  }

  async put (id: ChunkId, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, id, options?.signal)
    checkValue(bytes)
    await this.pending.track(this.locks.run(id, async () => {
      const { dir, file } = this.pathOf(id)
      const tmp = join(this.tmpDir, `${id}.${randomBytes(6).toString('hex')}`)
      try {
        await storage(async () => {
          const handle = await open(tmp, 'wx', 0o600)
          try {
            await handle.writeFile(bytes)
            await handle.sync()
          } finally {
            await handle.close()
          }
        })
        // last moment to honour an abort: after the rename the chunk is committed
        if (options?.signal?.aborted === true) throw new AbortError('put aborted', { cause: options.signal.reason })
        const previous = await sizeOf(file)
        await storage(async () => {
          await mkdir(dir, { recursive: true })
          await rename(tmp, file)
          await syncDir(dir)
        })
        if (this.used !== undefined) this.used += bytes.byteLength - (previous ?? 0)
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => {})
        throw err
      }
    }))
  }

  async get (id: ChunkId, options?: AbortOptions): Promise<Uint8Array> {
    checkCall(this.closed, id, options?.signal)
    return this.pending.track((async () => {
      try {
        return new Uint8Array(await readFile(this.pathOf(id).file, { signal: options?.signal }))
      } catch (err: any) {
        if (err?.code === 'ENOENT') throw new NotFoundError(`chunk ${id} not found`)
        if (err?.name === 'AbortError') throw new AbortError('get aborted', { cause: err })
        throw new StorageError(`reading chunk ${id} failed: ${err?.message}`, { cause: err })
      }
    })())
  }

  async has (id: ChunkId, options?: AbortOptions): Promise<boolean> {
    checkCall(this.closed, id, options?.signal)
    return (await this.pending.track(sizeOf(this.pathOf(id).file))) !== undefined
  }

  async delete (id: ChunkId, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, id, options?.signal)
    await this.pending.track(this.locks.run(id, async () => {
      const { dir, file } = this.pathOf(id)
      const previous = await sizeOf(file)
      if (previous === undefined) return
      await storage(async () => {
        await rm(file, { force: true })
        await syncDir(dir)
      })
      if (this.used !== undefined) this.used -= previous
    }))
  }

  async * ids (options?: AbortOptions): AsyncIterable<ChunkId> {
    checkCall(this.closed, undefined, options?.signal)
    for await (const shard of await opendir(this.chunksDir)) {
      if (!shard.isDirectory()) continue
      let entries
      try {
        entries = await opendir(join(this.chunksDir, shard.name))
      } catch (err: any) {
        if (err?.code === 'ENOENT') continue
        throw new StorageError(`listing chunks failed: ${err?.message}`, { cause: err })
      }
      for await (const entry of entries) {
        checkCall(this.closed, undefined, options?.signal)
        if (entry.isFile() && isChunkId(entry.name)) yield entry.name
      }
    }
  }

  async usedBytes (options?: AbortOptions): Promise<number> {
    checkCall(this.closed, undefined, options?.signal)
    if (this.used === undefined) {
      // counted once per open, then kept current by put/delete
      let total = 0
      for await (const id of this.ids(options)) total += (await sizeOf(this.pathOf(id).file)) ?? 0
      this.used ??= total
    }
    return this.used
  }

  async close (): Promise<void> {
    this.closed = true
    await this.pending.settled()
  }
}

async function sizeOf (file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size
  } catch (err: any) {
    if (err?.code === 'ENOENT') return undefined
    throw new StorageError(`stat ${file} failed: ${err?.message}`, { cause: err })
  }
}

async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function storage<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err: any) {
    if (err instanceof Error && 'code' in err && typeof err.code === 'string' && /^[A-Z]/.test(err.code)) {
      throw new StorageError(`chunk store I/O failed: ${err.message}`, { cause: err })
    }
    throw err
  }
}
