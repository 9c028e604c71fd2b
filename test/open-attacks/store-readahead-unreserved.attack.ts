import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Stream } from '@libp2p/interface'
import { encodeStoreRequest } from '../../src/adapters/libp2p/protocols/store-client.ts'
import { STORE_PROTOCOL } from '../../src/adapters/libp2p/wire/constants.ts'
import { chunkIdOf } from '../../src/domain/formats/chunk-id.ts'
import { startBudgetedNodeProcess, type BudgetedNodeProcess } from '../helpers/budgeted-node-process.ts'

const MIB = 2 ** 20
const STREAMS = Number(process.env.RA_STREAMS ?? 48)
const C = '12345'
let node: BudgetedNodeProcess
before(async () => { node = await startBudgetedNodeProcess({ budgets: {} }) })
after(async () => { await node.stop() })

it('store frames the node has not begun to read are reserved too', { timeout: 120_000 }, async () => {
  const target = peerIdFromString(node.peerId)
  const host = await node.client()
  const base = await node.memoryMib()
  const junkId = chunkIdOf(randomBytes(8))
  const junk = encodeStoreRequest({ chunkId: junkId, commitment: C, deleteCommitment: C, data: randomBytes(8) }).frame
  const big = encodeStoreRequest({ chunkId: junkId, commitment: C, deleteCommitment: C, data: randomBytes(MIB) }).frame
  const streams: Stream[] = []
  let refused = 0
  let last = ''
  for (let s = 0; s < STREAMS; s++) {
    try {
      const stream = await host.dialProtocol(target, STORE_PROTOCOL)
      stream.pause() // never read the answers: the node's writes stall, it stops reading
      for (let i = 0; i < 4000; i++) for (const part of junk.parts) stream.send(part)
      for (let i = 0; i < Number(process.env.RA_BIG ?? 4); i++) for (const part of big.parts) stream.send(part)
      streams.push(stream)
    } catch (err) { refused++; last = String(err) }
  }
  let peak = 0
  for (let i = 0; i < 10; i++) { await sleep(500); peak = Math.max(peak, await node.memoryMib()) }
  const usage = await node.usage()
  for (const s of streams) s.abort(new Error('done'))
  assert.ok(peak - base < 64, `RSS grew ${Math.round(peak - base)} MiB over ${STREAMS} streams while the budget held ${Math.round(usage.used.memory / MIB)} MiB (strangers ${Math.round(usage.strangers.memory / MIB)} MiB, streams ${usage.used.streams}); ${streams.length} streams sent, ${refused} refused (${last})`)
})
