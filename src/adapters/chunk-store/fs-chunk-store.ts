import { randomBytes } from 'node:crypto'
import { link, mkdir, open, opendir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { AbortError, NotFoundError, StorageError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ChunkId, ChunkStore } from '../../ports/chunk-store.ts'
import { isChunkId } from '../../domain/formats/chunk-id.ts'
import { KeyedMutex } from '../../util/keyed-mutex.ts'
import { PendingWork } from '../../util/pending-work.ts'
import { checkCall, checkValue } from './checks.ts'
import { DirectorySyncs, syncDir } from './directory-syncs.ts'

export interface FsChunkStoreInit {
  /** Directory that holds `chunks/` and `tmp/`; created when missing. */
  root: string
}

interface Tally { bytes: number, values: number }

/**
 * Content-addressed chunks on a filesystem: `chunks/<shard>/<id>` where the shard is
 * the id's next-to-last two characters (as IPFS' flatfs does: the tail of a CID is
 * uniformly distributed, its head is not).
 *
 * A write goes to `tmp/`, is fdatasynced, then takes its name and the shard directory
 * is fsynced, so after a crash a chunk is either whole or absent; `open` clears `tmp/`.
 * A new id takes its name with link(2), which fails when the name exists, as git
 * stores objects: a new chunk so needs no stat and no lock. Replacing a value or
 * deleting one takes the id's lock, so the byte count stays exact. Writes landing in
 * one shard together share its fsync (directory-syncs.ts).
 *
 * Shard directories are created once, and their own entry is synced before a chunk is
 * acknowledged in them. One removed from under a running store is created again at the
 * next write into it (the chunks it held are lost either way; refusing every later
 * write would not bring them back). Their bytes stay in the count until the next open.
 */
export class FsChunkStore implements ChunkStore {
  private readonly chunksDir: string
  private readonly tmpDir: string
  private readonly locks = new KeyedMutex()
  private readonly shards = new Map<string, Promise<void>>()
  private readonly syncs = new DirectorySyncs()
  private readonly pending = new PendingWork()
  private readonly writes = new Set<Promise<unknown>>()
  private tally: Tally | undefined
  private counting: Promise<Tally> | undefined
  private gate: Promise<void> | undefined
  private linkable = true
  private closed = false

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
    await this.pending.track(this.write(async () => {
      const { dir, file } = this.pathOf(id)
      const tmp = join(this.tmpDir, `${id}.${randomBytes(6).toString('hex')}`)
      try {
        await storage(async () => {
          const handle = await open(tmp, 'wx', 0o600)
          try {
            await handle.writeFile(bytes)
            await handle.datasync()
          } finally {
            await handle.close()
          }
        })
        // last moment to honour an abort: once named the chunk is committed
        if (options?.signal?.aborted === true) throw new AbortError('put aborted', { cause: options.signal.reason })
        await this.inShard(dir, async () => {
          if (await this.linkNew(tmp, file)) {
            this.account(bytes.byteLength, 1)
            // the chunk is in place: a temp name left behind goes at the next open
            await unlink(tmp).catch(() => {})
          } else {
            await this.locks.run(id, async () => {
              const previous = await sizeOf(file)
              await rename(tmp, file)
              this.account(bytes.byteLength - (previous ?? 0), previous === undefined ? 1 : 0)
            })
          }
        })
        await storage(async () => this.syncs.sync(dir))
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
        // readFile's Buffer is the caller's from here: no copy
        return await readFile(this.pathOf(id).file, { signal: options?.signal })
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
    await this.pending.track(this.write(async () => this.locks.run(id, async () => {
      const { dir, file } = this.pathOf(id)
      const previous = await sizeOf(file)
      if (previous === undefined) return
      await storage(async () => {
        // under the id's lock, so the file stat found is the one removed (or one taken from under the store)
        await unlink(file).catch((err: any) => { if (err?.code !== 'ENOENT') throw err })
        await this.syncs.sync(dir)
      })
      this.account(-previous, -1)
    })))
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
    return (await this.counted(options)).bytes
  }

  async count (options?: AbortOptions): Promise<number> {
    checkCall(this.closed, undefined, options?.signal)
    return (await this.counted(options)).values
  }

  async close (): Promise<void> {
    this.closed = true
    await this.pending.settled()
  }

  private account (bytes: number, values: number): void {
    if (this.tally === undefined) return
    this.tally.bytes += bytes
    this.tally.values += values
  }

  /** Runs a put or delete, but not while the first count scans the medium. */
  private async write (fn: () => Promise<void>): Promise<void> {
    while (this.gate !== undefined) await this.gate
    const work = fn()
    this.writes.add(work)
    try {
      await work
    } finally {
      this.writes.delete(work)
    }
  }

  /** Counted once per open, with writes held back meanwhile, then kept by put and delete. */
  private async counted (options?: AbortOptions): Promise<Tally> {
    if (this.tally !== undefined) return this.tally
    this.counting ??= (async () => {
      let release = (): void => {}
      this.gate = new Promise((resolve) => { release = resolve })
      try {
        await Promise.allSettled([...this.writes])
        const tally = { bytes: 0, values: 0 }
        for await (const id of this.ids(options)) {
          const size = await sizeOf(this.pathOf(id).file)
          if (size === undefined) continue
          tally.bytes += size
          tally.values++
        }
        this.tally = tally
        return tally
      } finally {
        this.gate = undefined
        this.counting = undefined
        release()
      }
    })()
    return this.counting
  }

  /**
   * Runs `fn`, which names a file in the shard `dir`, once the shard exists and its
   * entry is durable; a shard found missing is made again and `fn` tried once more.
   */
  private async inShard (dir: string, fn: () => Promise<void>): Promise<void> {
    await this.shard(dir)
    try {
      await storage(fn)
    } catch (err: any) {
      if (err?.cause?.code !== 'ENOENT' || await sizeOf(dir) !== undefined) throw err
      this.shards.delete(dir)
      await this.shard(dir)
      await storage(fn)
    }
  }

  private async shard (dir: string): Promise<void> {
    let ready = this.shards.get(dir)
    if (ready === undefined) {
      ready = storage(async () => {
        try {
          await mkdir(dir)
        } catch (err: any) {
          if (err?.code === 'EEXIST') return
          throw err
        }
        await syncDir(this.chunksDir)
      })
      this.shards.set(dir, ready)
      ready.catch(() => { if (this.shards.get(dir) === ready) this.shards.delete(dir) })
    }
    await ready
  }

  /** Names `tmp` as `file` if `file` does not exist; false when it does or links are not supported. */
  private async linkNew (tmp: string, file: string): Promise<boolean> {
    if (!this.linkable) return false
    try {
      await link(tmp, file)
      return true
    } catch (err: any) {
      if (err?.code === 'EEXIST') return false
      // filesystems without hard links (FAT, some network mounts): rename, under the lock
      if (err?.code === 'EPERM' || err?.code === 'ENOTSUP' || err?.code === 'EOPNOTSUPP' || err?.code === 'EXDEV') {
        this.linkable = false
        return false
      }
      throw err
    }
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
