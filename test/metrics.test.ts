import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { MeteredChunkStore } from '../src/adapters/metrics/metered-chunk-store.ts'
import { MeteredVerifier } from '../src/adapters/metrics/metered-verifier.ts'
import { NodeMetrics } from '../src/adapters/metrics/node-metrics.ts'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { sampleContext } from './helpers/proof-fixtures.ts'

/** The value of one sample line of the exposition text, or undefined when absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('node metrics', () => {
  it('the chunk store wrapper counts bytes stored and served, and nothing for a failed read', async () => {
    const metrics = new NodeMetrics()
    const store = new MeteredChunkStore(new MemoryChunkStore(), metrics)
    const bytes = new Uint8Array(1000).fill(3)
    const id = chunkIdOf(bytes)
    assert.equal(sample(await metrics.text(), 'quloud_chunk_bytes_total{direction="stored"}'), 0, 'the series exists from the start')
    await store.put(id, bytes)
    await store.get(id)
    await store.get(id)
    await assert.rejects(store.get(chunkIdOf(new Uint8Array(5))))
    await store.delete(id)
    const text = await metrics.text()
    assert.equal(sample(text, 'quloud_chunk_bytes_total{direction="stored"}'), 1000)
    assert.equal(sample(text, 'quloud_chunk_bytes_total{direction="served"}'), 2000)
    assert.equal(sample(text, 'quloud_chunk_operations_total{operation="get"}'), 2)
    assert.equal(sample(text, 'quloud_chunk_operations_total{operation="delete"}'), 1)
    await store.close()
  })

  it('two nodes in one process keep their own counts', async () => {
    const [a, b] = [new NodeMetrics(), new NodeMetrics()]
    a.requests.inc({ protocol: '/quloud/store/2.0.0', outcome: 'ok' })
    assert.equal(sample(await a.text(), 'quloud_requests_total{protocol="/quloud/store/2.0.0",outcome="ok"}'), 1)
    assert.equal(sample(await b.text(), 'quloud_requests_total{protocol="/quloud/store/2.0.0",outcome="ok"}'), undefined)
  })

  it('sampled gauges read their source at each scrape', async () => {
    const metrics = new NodeMetrics()
    let peers = 1
    metrics.sampled('quloud_test_peers', 'test', ['state'], async () => [{ labels: { state: 'live' }, value: peers }])
    assert.equal(sample(await metrics.text(), 'quloud_test_peers{state="live"}'), 1)
    peers = 7
    assert.equal(sample(await metrics.text(), 'quloud_test_peers{state="live"}'), 7)
  })

  describe('the verifier wrapper', () => {
    let prover: SnarkjsProver
    let verifier: SnarkjsVerifier
    before(async () => {
      const artefacts = await loadProofArtefacts()
      prover = await SnarkjsProver.create({ artefacts })
      verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
    })
    after(async () => {
      await verifier?.close()
      await prover?.close()
    })

    it('counts verified proofs, invalid ones, and those refused with an error by its code', async () => {
      const metrics = new NodeMetrics()
      const metered = new MeteredVerifier(verifier, metrics)
      const secret = 987654321n
      const commitment = poseidonCommitment(secret)
      const context = sampleContext(5)
      const proof = await prover.prove({ secret, commitment, context })
      assert.equal(await metered.verify({ proof, commitment, context }), true)
      // a proof replayed for another challenge: the attack a storage node must refuse
      assert.equal(await metered.verify({ proof, commitment, context: sampleContext(6) }), false)
      await assert.rejects(metered.verify({ proof: { a: [1n], b: [], c: [] } as any, commitment, context }), { name: 'MalformedProofError' })
      const text = await metrics.text()
      assert.equal(sample(text, 'quloud_proofs_total{outcome="verified",reason=""}'), 1)
      assert.equal(sample(text, 'quloud_proofs_total{outcome="refused",reason="invalid"}'), 1)
      assert.equal(sample(text, 'quloud_proofs_total{outcome="refused",reason="malformed-proof"}'), 1)
    })
  })
})
