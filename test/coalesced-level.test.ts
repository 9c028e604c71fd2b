import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Level } from 'level'
import { CoalescedLevel } from '../src/adapters/data-dir/coalesced-level.ts'
import { tempDir } from './helpers/temp-dir.ts'

async function withDb (fn: (db: Level<string, string>, calls: { getMany: number, batch: number }) => Promise<void>): Promise<void> {
  const dir = await tempDir('quloud-coalesced-')
  const db = new Level<string, string>(join(dir.path, 'db'))
  await db.open()
  const calls = { getMany: 0, batch: 0 }
  const getMany = db.getMany.bind(db)
  const batch = db.batch.bind(db) as (ops: any[]) => Promise<void>
  ;(db as any).getMany = async (keys: string[]) => { calls.getMany++; return getMany(keys) }
  ;(db as any).batch = async (ops: any[]) => { calls.batch++; return batch(ops) }
  try {
    await fn(db, calls)
  } finally {
    await db.close()
    await dir.cleanup()
  }
}

describe('CoalescedLevel', () => {
  it('many puts and gets at once go as two LevelDB calls each, and read what was written', async () => {
    await withDb(async (db, calls) => {
      const level = new CoalescedLevel(db)
      await Promise.all(Array.from({ length: 100 }, async (_, i) => level.put(`k${i}`, `v${i}`)))
      // the first starts at once, the 99 that came meanwhile go together
      assert.equal(calls.batch, 2)
      const values = await Promise.all(Array.from({ length: 101 }, async (_, i) => level.get(`k${i}`)))
      assert.equal(calls.getMany, 2)
      assert.deepEqual(values, [...Array.from({ length: 100 }, (_, i) => `v${i}`), undefined])
      assert.equal(await db.get('k42'), 'v42')
    })
  })

  it('the last put of a key wins, within a batch and across batches', async () => {
    await withDb(async (db) => {
      const level = new CoalescedLevel(db)
      await Promise.all([level.put('room', '1'), level.put('room', '2'), level.put('room', '3'), level.put('other', 'x'), level.put('room', '4')])
      assert.equal(await level.get('room'), '4')
      assert.equal(await db.get('room'), '4')
    })
  })

  it('a failed write rejects every put of its batch, and the next batch still writes', async () => {
    await withDb(async (db) => {
      const level = new CoalescedLevel(db)
      const batch = db.batch.bind(db) as (ops: any[]) => Promise<void>
      let fail = true
      ;(db as any).batch = async (ops: any[]) => {
        if (fail) { fail = false; throw new Error('disk full') }
        return batch(ops)
      }
      await assert.rejects(level.put('a', '1'), /disk full/)
      await level.put('b', '2')
      assert.equal(await level.get('a'), undefined)
      assert.equal(await level.get('b'), '2')
    })
  })
})
