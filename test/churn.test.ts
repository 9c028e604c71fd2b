import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runChurn } from './helpers/churn-simulation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const NODES = 11
const FILES = 2

/**
 * The churn simulation, short (bench/churn.bench.ts is the long one): 11 storage nodes
 * and an owner, real daemons in this process; two files put with the default scheme
 * (auto: 6+5 on 11 nodes, so every storage node holds a shard of each); two nodes leave
 * for good within a simulated month, each replaced by a newcomer, which is then the only
 * node with room for the rebuilt shards. Nothing is timed: the run waits, with generous
 * ceilings, for the owner to see each loss and every file whole again, then reads back.
 */
describe('churn: nodes leave for good and newcomers join while the owner repairs', () => {
  it(`${NODES} storage nodes, 2 departures: no file lost, every file whole again on the newcomers`, async () => {
    const dir = await tempDir('quloud-churn-')
    try {
      const report = await runChurn({
        dir: dir.path, nodes: NODES, months: 1, monthMs: 40_000, churn: 2 / NODES, files: FILES, fileBytes: 2 * 2 ** 20 + 12_345, seed: 7, ceilingMs: 300_000,
        // CHURN_OWNER_LOG=FILE keeps the owner daemon's debug log of the run
        ...(process.env.CHURN_OWNER_LOG === undefined ? {} : { ownerLog: process.env.CHURN_OWNER_LOG }),
        progress: (line) => { if (process.env.CHURN_OWNER_LOG !== undefined) console.log(line) }
      })
      assert.equal(report.scheme, '6+5')
      assert.equal(report.losses.length, 2)
      assert.equal(report.joins, 2)
      assert.equal(report.filesLost, 0)
      assert.equal(report.wholeAtEnd, true)
      assert.ok(report.lowestMargin >= 0, `a file went unreadable (margin ${report.lowestMargin})`)
      for (const loss of report.losses) {
        assert.ok(loss.heldBytes > 0, `${loss.node} held a shard of every file`)
        assert.ok(loss.fullHealthAfterS !== undefined && loss.detectedAfterS !== undefined && loss.fullHealthAfterS >= loss.detectedAfterS)
      }
      // each departure took one shard of each file: both rebuilt, each from k = 6 read
      assert.ok(report.repairedShards >= 2 * FILES, `rebuilt ${report.repairedShards}`)
      assert.ok(report.repairBytes > 0)
    } finally {
      await dir.cleanup()
    }
  })
})
