import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { link, lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { defineError } from '../../errors.ts'

/** `get`/`receive` would replace something that exists at an output path. */
export const OutputExistsError = defineError('OutputExistsError', 'output-exists')

// O_EXCL alone already refuses a link at the final name; O_NOFOLLOW says so twice, for
// systems where a link to nothing would otherwise be created through
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

const PARTIAL_SUFFIX = '.quloud-partial'
const PARTIAL_NAME = /^(.+)\.[0-9a-f]{12}\.quloud-partial$/

/**
 * The file `name` (one segment) is a restore's temporary for, or undefined when it is
 * not named like one. A crashed daemon leaves these beside the files it was writing.
 */
export function partialOf (name: string): string | undefined {
  return PARTIAL_NAME.exec(name)?.[1]
}

export interface Completion {
  size: number
  mode: number
  mtimeMs: number
  /** Replace what is at the output path (the entry itself, never a link's target). */
  replace: boolean
}

/**
 * A file being restored: written under a random name beside its output, created
 * exclusively (so a name planted there in advance, a link included, is never opened),
 * given its mode and time through the open handle (never by a path that may have been
 * swapped), and only then put in place. Without `replace` the placement is a hard link,
 * which fails rather than overwrite anything that appeared meanwhile.
 */
export class PartialFile {
  readonly handle: FileHandle
  private readonly path: string
  private readonly output: string

  private constructor (handle: FileHandle, path: string, output: string) {
    this.handle = handle
    this.path = path
    this.output = output
  }

  /** The directory of `output` must exist and be one the caller checked (output-tree.ts). */
  static async create (output: string): Promise<PartialFile> {
    // a random name: a fixed one may be another file of the same tree (a leftover of an
    // interrupted restore that was backed up), written at the same time
    const path = `${output}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`
    return new PartialFile(await open(path, CREATE_NEW, 0o600), path, output)
  }

  async complete (done: Completion): Promise<void> {
    try {
      await this.handle.truncate(done.size)
      await this.handle.sync()
      await this.handle.chmod(done.mode & 0o777)
      await this.handle.utimes(new Date(), new Date(done.mtimeMs))
      await this.handle.close()
      await (done.replace ? this.replace() : this.placeExclusively())
    } catch (err) {
      await this.discard()
      throw err
    }
  }

  async discard (): Promise<void> {
    await this.handle.close().catch(() => {})
    await unlink(this.path).catch(() => {})
  }

  private async replace (): Promise<void> {
    const there = await lstat(this.output).catch(() => undefined)
    if (there?.isDirectory() === true) throw new OutputExistsError(`${this.output} is a directory; it is not replaced by a file`)
    // rename replaces the directory entry: a link there is replaced, its target untouched
    await rename(this.path, this.output)
  }

  private async placeExclusively (): Promise<void> {
    try {
      await link(this.path, this.output)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new OutputExistsError(`${this.output} exists already; choose another output with -o, or use --skip-existing or --overwrite`, { cause: err })
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err
      // a file system without hard links (FAT, some network shares): check, then rename
      if (await lstat(this.output).then(() => true, () => false)) throw new OutputExistsError(`${this.output} exists already`, { cause: err })
      await rename(this.path, this.output)
      return
    }
    await unlink(this.path)
  }
}
