import assert from 'node:assert/strict'
import { it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { attackedNode, ownChunk, unreadGets } from './helpers/unread-attack.ts'
import { waitFor } from './helpers/wait-for.ts'

const MIB = 2 ** 20
const STREAMS = 16
const GETS = 2

const rig = attackedNode()

/**
 * Found by weighing the slow reader (budget-slow-reader.test.ts) with its dead buffers
 * collected: its streams were reset mid-answer, and each left ~1 MiB live the budget
 * had released. A failed write gives its chunk's reservation back, but libp2p keeps
 * the write buffer of a stream its peer reset, and serveStream's refusal timer held
 * that stream for its grace period (2 s), as the stream's 'close' had come and gone.
 */
it('a peer that resets its streams mid-answer: the chunk bytes they leave are not held once the budget released them', { timeout: 120_000 }, async () => {
  const target = peerIdFromString(rig.node().peerId)
  const host = await rig.node().client()
  const own = await ownChunk(host, target, rig.prover())
  const baseUsage = await rig.node().usage(true)
  const { admitted, stalled } = await unreadGets(target, [{ host, own }], STREAMS, GETS)
  assert.ok(admitted >= 4, `the attack got streams in (${admitted})`)
  // the node begins each stream's first answer and stalls on the window of a stream nobody reads
  // (waited for: a starved node takes longer than any fixed sleep to begin the last one)
  const during = await waitFor(async () => {
    const now = await rig.node().usage(true)
    return now.used.memory >= admitted * MIB ? now : undefined
  }, { what: 'every admitted stream answering', timeoutMs: 30_000 })
  for (const s of stalled) s.abort(new Error('reset mid-answer'))
  // the resets have arrived and the writes have failed; well inside the 2 s the timer held them
  await sleep(300)
  const usage = await rig.node().usage(true)
  await own.session.close().catch(() => {})
  const live = usage.process.arrayBuffers - baseUsage.process.arrayBuffers
  const said = `${admitted} streams × ${GETS} gets reset mid-answer: live buffers ${(live / MIB).toFixed(1)} MiB over the start while the budget counted ${(usage.used.memory / MIB).toFixed(1)} MiB (${(during.used.memory / MIB).toFixed(1)} MiB before the resets)`
  if (process.env.RESET_SAY === '1') console.log(said)
  // one chunk of slack for whatever the node was doing besides; before, every reset stream held one
  assert.ok(live <= usage.used.memory + MIB, said)
})
