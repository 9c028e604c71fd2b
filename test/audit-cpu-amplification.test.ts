import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { after, before, it } from 'node:test'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { startBudgetedNodeProcess, type BudgetedNodeProcess } from './helpers/budgeted-node-process.ts'
import { DEFAULT_AUDIT_LIMITS } from '../src/adapters/libp2p/protocols/audit-budget.ts'

const MIB = 2 ** 20
const AUDITS = 1000

/**
 * An audit (retrieve's audit request, audits-and-repair.md) makes the holder read the
 * whole chunk from disk, open it from the at-rest layer and hash it into a Merkle tree,
 * and answers one 4 KiB leaf with its path: ~1 MiB of work for ~4.6 KB the requester
 * reads. Anyone may store a chunk of their own and prove for it, so one stranger id
 * asking audits of its own chunk is bounded only by the request rate (2,000 a second,
 * a burst above it): the node does a get's work without the get's bandwidth. The
 * owner's audits are a few per file and holder an hour (`auditEvery`, `auditSample`).
 * Defence: a stranger's audits are budgeted (per peer and per network: audit-budget.ts),
 * the rest refused BUSY inside the stream, which goes on.
 */
let node: BudgetedNodeProcess
let target: PeerId
before(async () => {
  node = await startBudgetedNodeProcess({ budgets: {} })
  target = peerIdFromString(node.peerId)
})
after(async () => { await node.stop() })

/** User and system CPU seconds the node process has used. */
async function cpuSeconds (): Promise<number> {
  const fields = (await readFile(`/proc/${node.child.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

it(`a stranger cannot make the node hash its chunk ${AUDITS} times in a row for 4 KB answers`, { timeout: 300_000 }, async () => {
  const host = await node.client()
  const secret = 4141n
  const commitment = commitmentToDecimal(poseidonCommitment(secret))
  const data = randomBytes(MIB)
  const chunkId = chunkIdOf(data)
  const store = await StoreClient.open(host, target)
  await store.store({ chunkId, data, commitment, deleteCommitment: commitment })
  await store.close()
  const prover = await SnarkjsProver.create({ artefacts: await loadProofArtefacts() })
  let answered = 0
  let busy = 0
  let answerBytes = 0
  try {
    const session = await SessionClient.open({ host, peer: target, action: 'read', secret, commitment: poseidonCommitment(secret), prover })
    const cpuBefore = await cpuSeconds()
    const started = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next++ < AUDITS) {
        try {
          const proof = await session.audit(chunkId, [next % 256])
          answered++
          answerBytes += proof.leaves.reduce((n, l) => n + l.data.byteLength + l.path.reduce((m, p) => m + p.byteLength, 0), 0)
        } catch (err) {
          if ((err as Error).name !== 'BusyError') throw err
          busy++
        }
      }
    }))
    const seconds = (performance.now() - started) / 1000
    const cpu = await cpuSeconds() - cpuBefore
    // BUSY is refused inside the stream: the same session audits again once its budget refilled
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.equal((await session.audit(chunkId, [3])).leaves[0]?.index, 3)
    await session.close()
    const said = `${answered} audits answered (${busy} BUSY) in ${seconds.toFixed(1)} s: the node read and hashed ${answered} MiB and used ${cpu.toFixed(1)} CPU s (${(cpu / seconds).toFixed(2)} cores) for ${Math.round(answerBytes / 1024)} KiB of answers`
    if (process.env.AUDIT_SAY === '1') console.log(said)
    // what the stranger's budget gives in the time the run took (a loaded machine takes
    // longer, and the budget refills meanwhile), and the 8 asked at once: ~50 in a
    // second's run; without the budget all 1,000 are answered
    const { perSecond, burst } = DEFAULT_AUDIT_LIMITS.stranger
    const allowed = burst + Math.ceil(perSecond * seconds) + 8
    assert.ok(answered <= allowed, `${said}; the budget allows ${allowed}`)
  } finally {
    await prover.close()
  }
})
