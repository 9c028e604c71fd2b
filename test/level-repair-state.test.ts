import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Level } from 'level'
import { LevelRepairStateStore } from '../src/adapters/data-dir/level-repair-state.ts'
import type { RepairState } from '../src/ports/repair-state.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { ClosedError, StorageError } from '../src/errors.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('LevelRepairStateStore (the data directory\'s repair/)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  before(async () => { dir = await tempDir() })
  after(async () => { await dir?.cleanup() })

  const state: RepairState = {
    distrusted: ['12D3KooWliar'],
    deletions: [{ peer: '12D3KooWgone', fileId: 'ab'.repeat(16), ids: ['bafkreia', 'bafkreib'] }, { peer: '12D3KooWgone', fileId: 'cd'.repeat(16), batch: 'ef'.repeat(16), ids: ['bafkreic'] }],
    repairedShards: 4,
    audits: { passed: 10, failed: 1 },
    renewedAt: { '12D3KooWgone': 1_796_000_000_000 },
    lapsedInGap: { '12D3KooWgone': ['bafkreid'] }
  }

  it('loads nothing before the first save, then the last state saved, after a reopen too', async () => {
    const location = join(dir.path, 'a')
    const store = await LevelRepairStateStore.open(location)
    assert.equal(await store.load(), undefined)
    await store.save({ ...state, distrusted: [] })
    await store.save(state)
    await store.close()
    const reopened = await LevelRepairStateStore.open(location)
    assert.deepEqual(await reopened.load(), state)
    await reopened.close()
    await reopened.close()
    await rejectsWith(reopened.load(), ClosedError)
  })

  it('a state saved before renewal times loads without them', async () => {
    const location = join(dir.path, 'before-renewals')
    const db = new Level<string, string>(location)
    const { renewedAt, lapsedInGap, ...older } = state
    await db.put('state', JSON.stringify(older))
    await db.close()
    const store = await LevelRepairStateStore.open(location)
    assert.deepEqual(await store.load(), older)
    assert.ok(renewedAt !== undefined && lapsedInGap !== undefined)
    await store.close()
  })

  it('a value that is not a state (truncated, hand-edited) is StorageError, not a half-read state', async () => {
    for (const [name, value] of [['truncated', '{"distrusted":['], ['wrong shape', JSON.stringify({ ...state, deletions: [{ peer: 1 }] })], ['negative count', JSON.stringify({ ...state, repairedShards: -1 })], ['renewal time', JSON.stringify({ ...state, renewedAt: { p: 'soon' } })], ['renewal times', JSON.stringify({ ...state, renewedAt: [1] })], ['lapsed pieces', JSON.stringify({ ...state, lapsedInGap: { p: [1] } })]] as const) {
      const location = join(dir.path, name.replace(/ /g, '-'))
      const db = new Level<string, string>(location)
      await db.put('state', value)
      await db.close()
      const store = await LevelRepairStateStore.open(location)
      await rejectsWith(store.load(), StorageError)
      await store.close()
    }
  })
})
