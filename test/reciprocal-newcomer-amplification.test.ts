import assert from 'node:assert/strict'
import { it } from 'node:test'
import { Allowances } from '../src/app/admission/allowances.ts'

const MIB = 2 ** 20
it('one small receipt each does not let many ids past the strangers\' pool', async () => {
  const held = new Map<string, number>()
  const sybils = Array.from({ length: 40 }, (_, i) => `sybil${i}`)
  const allowances = new Allowances({
    trust: { get: () => undefined, list: () => [] },
    // this node stored one 4 KiB chunk on each (placement drew them once)
    receipts: { bytesOn: (p) => sybils.includes(p) ? 4096 : 0, peers: () => sybils },
    bytesStoredBy: async (p) => held.get(p) ?? 0,
    chargedBytes: async () => [...held.values()].reduce((a, b) => a + b, 0),
    newcomerAllowance: 256 * MIB,
    strangersCapacity: 1024 * MIB,
    peerCap: 1024 * MIB
  })
  let total = 0
  for (const s of sybils) {
    const room = await allowances.allowanceOf(s)
    held.set(s, room)
    total += room
  }
  assert.ok(total <= 1024 * MIB + sybils.length * 4096, `40 ids that hold 160 KiB of ours may store ${total / MIB} MiB here; the strangers' pool is 1024 MiB`)
})
