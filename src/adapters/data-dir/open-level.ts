import { Level } from 'level'
import { DataDirError } from '../../errors.ts'

/**
 * Opens a LevelDB of the data directory (utf8 keys and values). LevelDB locks its
 * directory, so the usual failure is a second daemon on the same data directory: the
 * DataDirError says so.
 */
export async function openDataDirLevel (location: string): Promise<Level<string, string>> {
  const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  try {
    await db.open()
  } catch (err: any) {
    throw new DataDirError(`cannot open ${location}; is another daemon running on this data directory? (${err?.cause?.code ?? err?.message})`, { cause: err })
  }
  return db
}
