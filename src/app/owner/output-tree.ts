import { constants } from 'node:fs'
import { lstat, lutimes, mkdir, open, symlink, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Stats } from 'node:fs'
import { defineError } from '../../errors.ts'
import { OutputExistsError } from './partial-file.ts'

/** The output tree holds a link (or a file) where a restore needs a directory. */
export const OutputLinkError = defineError('OutputLinkError', 'output-link')

const OPEN_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW

/**
 * The directory a restore writes under (`-o`, or `./<name>`) and everything it creates
 * there. The base is the user's own path and is taken as given; below it nothing is
 * followed: every directory is created here or checked with lstat to be a real one,
 * files are created exclusively by PartialFile in such directories, links are made with
 * symlink(2) (which never follows), and modes and times of directories are set through
 * handles opened with O_NOFOLLOW. So a link planted anywhere in an existing output tree
 * makes the restore refuse (OutputLinkError) instead of writing where it points.
 *
 * This guards against what is in the tree before and between steps, not against a
 * local user racing each system call: without openat(2) in Node a directory checked
 * here can in principle be swapped before the next call, so restore into a directory
 * other users cannot write.
 */
export class OutputTree {
  readonly base: string
  private readonly directories = new Map<string, Promise<void>>()

  constructor (base: string) {
    this.base = base
  }

  /** The path of `rel` ('' for the base) on this machine. */
  at (rel: string): string {
    return rel === '' ? this.base : join(this.base, rel)
  }

  /** Creates the base (and its missing parents, the user's path) or checks it is a directory. */
  async prepare (): Promise<void> {
    await mkdir(this.base, { recursive: true, mode: 0o700 }).catch(async (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    })
    const info = await lstat(this.base)
    if (!info.isDirectory() && !info.isSymbolicLink()) throw new OutputExistsError(`${this.base} exists and is not a directory`)
    this.directories.set('', Promise.resolve())
  }

  /** Makes `rel` and each directory above it (below the base) a real directory, creating what is missing. */
  async directory (rel: string): Promise<void> {
    if (rel === '' || rel === '.') return
    const segments = rel.split('/')
    for (let i = 1; i <= segments.length; i++) {
      const prefix = segments.slice(0, i).join('/')
      let ready = this.directories.get(prefix)
      if (ready === undefined) {
        ready = this.makeDirectory(prefix)
        this.directories.set(prefix, ready)
      }
      await ready
    }
  }

  /** What is at `rel` now, without following a link; undefined when nothing is. */
  async existing (rel: string): Promise<Stats | undefined> {
    return lstat(this.at(rel)).catch((err) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    })
  }

  /** A symbolic link at `rel` pointing at `target` (kept verbatim, never resolved here). */
  async link (rel: string, target: string, mtimeMs: number, replace: boolean): Promise<void> {
    const path = this.at(rel)
    if (replace) {
      const there = await this.existing(rel)
      if (there?.isDirectory() === true) throw new OutputExistsError(`${path} is a directory; it is not replaced by a link`)
      if (there !== undefined) await unlink(path)
    }
    await symlink(target, path).catch((err) => {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutputExistsError(`${path} exists already`, { cause: err })
      throw err
    })
    await lutimes(path, new Date(), new Date(mtimeMs))
  }

  /** Sets a directory's mode and time through a handle that cannot be a link. */
  async finishDirectory (rel: string, mode: number, mtimeMs: number): Promise<void> {
    const handle = await open(this.at(rel), OPEN_DIRECTORY).catch((err) => {
      throw new OutputLinkError(`${this.at(rel)} is no longer a directory of the restore (${(err as NodeJS.ErrnoException).code ?? 'error'}); nothing is written through it`, { cause: err })
    })
    try {
      await handle.chmod(mode)
      await handle.utimes(new Date(), new Date(mtimeMs))
    } finally {
      await handle.close()
    }
  }

  private async makeDirectory (rel: string): Promise<void> {
    const path = this.at(rel)
    try {
      // mkdir never follows a link at its last segment: a link there is EEXIST
      await mkdir(path, { mode: 0o700 })
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const info = await lstat(path)
    if (info.isSymbolicLink()) throw new OutputLinkError(`${path} is a symbolic link where the restore needs a directory; it is not followed (remove it or choose another output)`)
    if (!info.isDirectory()) throw new OutputExistsError(`${path} exists and is not a directory, but the restore needs a directory there`)
  }
}
