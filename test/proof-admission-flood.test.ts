import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { DEFAULT_PROOF_ADMISSION } from '../src/adapters/proof/proof-admission.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { WorkerPoolVerifier } from '../src/adapters/proof/worker-pool-verifier.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { MAX_CONTROL_FRAME_BYTES, RETRIEVE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { SessionRequestCodec, SessionResponseCodec, type SessionResponse } from '../src/adapters/libp2p/wire/messages.ts'
import { encodeGroth16Proof } from '../src/domain/proofs/groth16-proof.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { deriveProofContext } from '../src/domain/proofs/proof-context.ts'
import type { Verifier, VerifyInput, VerifyOptions } from '../src/ports/verifier.ts'
import { introduce, startClientHost, startStorageNode, type TestStorageNode } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { waitFor } from './helpers/wait-for.ts'

/** The node's verifier, recording in order when each verification starts and ends, and whose. */
class RecordingVerifier implements Verifier {
  readonly events: Array<{ kind: 'asked' | 'verdict', peer: string, verdict?: boolean }> = []
  private readonly inner: Verifier
  constructor (inner: Verifier) { this.inner = inner }
  async verify (input: VerifyInput, options?: VerifyOptions): Promise<boolean> {
    const peer = options?.requester?.peer ?? ''
    this.events.push({ kind: 'asked', peer })
    const verdict = await this.inner.verify(input, options)
    this.events.push({ kind: 'verdict', peer, verdict })
    return verdict
  }

  async close (): Promise<void> { await this.inner.close() }
}

/**
 * The proof flood of the hostile-federation issue, over the retrieve protocol on
 * 127.0.0.1: three ids keep eight streams each busy with curve-valid bogus proofs
 * (a real proof made for another context, so each would cost a pairing). Failures
 * cost the sender before the challenge (cooldowns, the subnet's budget), and an
 * honest peer whose proof verified before is verified ahead of strangers.
 */
describe('proof admission against a bogus-proof flood', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let pool: WorkerPoolVerifier
  let verifier: RecordingVerifier
  let node: TestStorageNode
  let prover: SnarkjsProver
  let honest: Libp2p
  const flooders: Libp2p[] = []

  before(async () => {
    dir = await tempDir()
    const artefacts = await loadProofArtefacts()
    pool = await WorkerPoolVerifier.create({ verificationKey: artefacts.verificationKey, workers: 1 })
    verifier = new RecordingVerifier(pool)
    prover = await SnarkjsProver.create({ artefacts })
    node = await startStorageNode({ dir: dir.path, verifier })
    honest = await startClientHost()
    await introduce(honest, node)
    for (let i = 0; i < 3; i++) {
      const host = await startClientHost()
      await introduce(host, node)
      flooders.push(host)
    }
  })

  after(async () => {
    for (const host of flooders) await host.stop()
    await honest?.stop()
    await node?.stop()
    await prover?.close()
    await verifier?.close()
    await dir?.cleanup()
  })

  it('an honest peer\'s handshakes are verified next, and the flooders\' pairings stay within their budget', { timeout: 120_000 }, async () => {
    const open = async (secret: bigint): Promise<SessionClient> =>
      SessionClient.open({ host: honest, peer: node.host.peerId, action: 'read', secret, commitment: poseidonCommitment(secret), prover })
    // standing: one proof verified before the flood
    await (await open(11n)).close()

    const secret = 424242n
    const commitment = poseidonCommitment(secret)
    const bogus = encodeGroth16Proof(await prover.prove({
      secret,
      commitment,
      context: deriveProofContext({ challenge: new Uint8Array(32), storageNode: new Uint8Array(38).fill(1), requester: new Uint8Array(38).fill(2), action: 'read', expiresAt: 1 })
    }))
    let running = true
    let answers = 0
    let busy = 0
    const started = performance.now()
    const loops = flooders.flatMap((host) => Array.from({ length: 8 }, async () => {
      while (running) {
        try {
          const stream = await host.dialProtocol(node.host.peerId, RETRIEVE_PROTOCOL)
          const framed = new FramedStream(stream, { maxFrameBytes: MAX_CONTROL_FRAME_BYTES, idleTimeoutMs: 20_000 })
          await framed.write(SessionRequestCodec, { hello: { commitment: commitmentToDecimal(commitment) } })
          const challenge = await framed.read(SessionResponseCodec)
          answers++
          if (challenge !== undefined && 'error' in challenge) busy++
          if (challenge !== undefined && 'challenge' in challenge) {
            await framed.write(SessionRequestCodec, { proof: { proof: bogus } })
            await framed.read(SessionResponseCodec)
          }
          stream.abort(new Error('next'))
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      }
    }))
    try {
      // let the flood fill the queue before the honest peer asks
      while (verifier.events.filter((e) => e.kind === 'verdict' && e.peer !== honest.peerId.toString()).length < 8) await new Promise((resolve) => setTimeout(resolve, 20))
      for (let i = 0; i < 5; i++) await (await open(BigInt(1000 + i))).close()
    } finally {
      running = false
      await Promise.all(loops)
    }
    const seconds = (performance.now() - started) / 1000
    const me = honest.peerId.toString()
    const events = verifier.events
    for (let at = events.findIndex((e) => e.kind === 'asked' && e.peer === me); at !== -1; at = events.findIndex((e, i) => i > at && e.kind === 'asked' && e.peer === me)) {
      const done = events.findIndex((e, i) => i > at && e.kind === 'verdict' && e.peer === me)
      const overtaking = events.slice(at, done).filter((e) => e.kind === 'verdict' && e.peer !== me).length
      // the one worker may be busy with one bogus proof when the honest one arrives
      assert.ok(overtaking <= 1, `${overtaking} bogus proofs were verified while an honest one waited`)
      assert.equal(events[done]!.verdict, true)
    }
    const pairings = events.filter((e) => e.kind === 'verdict' && e.peer !== me).length
    const { subnetFailureBurst, subnetFailuresPerSecond, strangerChallengesPerSubnet } = DEFAULT_PROOF_ADMISSION
    const budget = subnetFailureBurst + strangerChallengesPerSubnet + Math.ceil(seconds * subnetFailuresPerSecond)
    assert.ok(pairings <= budget, `${pairings} bogus proofs verified in ${seconds.toFixed(1)} s; budget ${budget}`)
    assert.ok(busy > pairings, `most attempts were refused before the challenge (${busy} refused, ${pairings} verified, ${answers} answers)`)
  })

  it('a session already proven is reused on its connection without a proof while strangers are refused', { timeout: 60_000 }, async () => {
    const secret = 777n
    const first = await SessionClient.open({ host: honest, peer: node.host.peerId, action: 'read', secret, commitment: poseidonCommitment(secret), prover })
    const asked = verifier.events.length
    const again = await SessionClient.open({ host: honest, peer: node.host.peerId, action: 'read', secret, commitment: poseidonCommitment(secret), prover })
    assert.equal(verifier.events.length, asked, 'no verification for the second stream')
    await again.close()
    await first.close()
  })
})

describe('proof admission: a peer that does not wait out its cooldown', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let verifier: WorkerPoolVerifier
  let node: TestStorageNode
  let prover: SnarkjsProver
  let flooder: Libp2p

  before(async () => {
    dir = await tempDir()
    const artefacts = await loadProofArtefacts()
    verifier = await WorkerPoolVerifier.create({ verificationKey: artefacts.verificationKey, workers: 1 })
    prover = await SnarkjsProver.create({ artefacts })
    node = await startStorageNode({ dir: dir.path, verifier, proofAdmission: { firstCooldownMs: 60_000 } })
    flooder = await startClientHost()
    await introduce(flooder, node)
  })

  after(async () => {
    await flooder?.stop()
    await node?.stop()
    await prover?.close()
    await verifier?.close()
    await dir?.cleanup()
  })

  /** One hello on a new stream; the first answer's kind, or 'closed'. */
  const hello = async (): Promise<{ framed: FramedStream, answer: string }> => {
    const stream = await flooder.dialProtocol(node.host.peerId, RETRIEVE_PROTOCOL)
    const framed = new FramedStream(stream, { maxFrameBytes: MAX_CONTROL_FRAME_BYTES, idleTimeoutMs: 20_000 })
    await framed.write(SessionRequestCodec, { hello: { commitment: commitmentToDecimal(poseidonCommitment(5n)) } })
    const answer = await framed.read(SessionResponseCodec).catch(() => undefined)
    return { framed, answer: answer === undefined ? 'closed' : 'error' in answer ? `error ${answer.error.code}` : Object.keys(answer)[0]! }
  }

  // the connection is held back, no longer closed: a closed knocker reconnected at once, a handshake each time on both sides
  it('is refused BUSY before any challenge, and is no longer read after knocking through the cooldown', { timeout: 60_000 }, async () => {
    const first = await hello()
    assert.equal(first.answer, 'challenge')
    const bogus = encodeGroth16Proof(await prover.prove({ secret: 5n, commitment: poseidonCommitment(5n), context: 1n }))
    await first.framed.write(SessionRequestCodec, { proof: { proof: bogus } })
    const verdict = await first.framed.read(SessionResponseCodec)
    assert.ok(verdict !== undefined && 'error' in verdict && verdict.error.code === 3, 'INVALID_PROOF')
    const connection = flooder.getConnections(node.host.peerId)[0]!
    const answers: string[] = []
    for (let i = 0; i <= DEFAULT_PROOF_ADMISSION.knocksPerCooldown && connection.status === 'open'; i++) answers.push((await hello()).answer)
    assert.deepEqual(answers, Array(DEFAULT_PROOF_ADMISSION.knocksPerCooldown + 1).fill('error 9'), 'BUSY instead of a challenge, each time')
    // held back for the cooldown (60 s here, at most 10 s at a time): a further stream is not even negotiated
    const signal = AbortSignal.timeout(2000)
    const unanswered = await flooder.dialProtocol(node.host.peerId, RETRIEVE_PROTOCOL, { signal }).then((stream) => { stream.abort(new Error('done')); return false }, () => true)
    assert.ok(unanswered, 'a stream opened while held back is not answered')
    assert.equal(connection.status, 'open', 'the connection is not closed: closed, the knocker reconnects at once')
  })
})

describe('proof admission: fresh ids on one network spend its strangers\' budget', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let verifier: WorkerPoolVerifier
  let node: TestStorageNode
  let prover: SnarkjsProver
  const hosts: Libp2p[] = []
  let trusted: Libp2p

  before(async () => {
    dir = await tempDir()
    const artefacts = await loadProofArtefacts()
    verifier = await WorkerPoolVerifier.create({ verificationKey: artefacts.verificationKey, workers: 1 })
    prover = await SnarkjsProver.create({ artefacts })
    trusted = await startClientHost()
    const trustedId = trusted.peerId.toString()
    // a budget that does not refill within the test, however slow the machine
    node = await startStorageNode({ dir: dir.path, verifier, hasStanding: (peer) => peer === trustedId, proofAdmission: { subnetFailureBurst: 4, subnetFailuresPerSecond: 0.001 } })
    await introduce(trusted, node)
  })

  after(async () => {
    for (const host of hosts) await host.stop()
    await trusted?.stop()
    await node?.stop()
    await prover?.close()
    await verifier?.close()
    await dir?.cleanup()
  })

  it('then a fresh stranger of that network is refused before any challenge, a trusted peer is not', { timeout: 60_000 }, async () => {
    const commitment = poseidonCommitment(5n)
    const bogus = encodeGroth16Proof(await prover.prove({ secret: 5n, commitment, context: 1n }))
    const first = async (host: Libp2p): Promise<{ framed: FramedStream, answer: SessionResponse | undefined }> => {
      // the node takes 5 new connections a second from one host: fresh ids on 127.0.0.1 wait their turn
      const stream = await waitFor(async () => host.dialProtocol(node.host.peerId, RETRIEVE_PROTOCOL), { what: 'a connection for a fresh id', intervalMs: 300 })
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_CONTROL_FRAME_BYTES, idleTimeoutMs: 20_000 })
      await framed.write(SessionRequestCodec, { hello: { commitment: commitmentToDecimal(commitment) } })
      return { framed, answer: await framed.read(SessionResponseCodec) }
    }
    const fresh = async (): Promise<Libp2p> => {
      const host = await startClientHost()
      hosts.push(host)
      await introduce(host, node)
      return host
    }
    for (let i = 0; i < 4; i++) {
      const { framed, answer } = await first(await fresh())
      assert.ok(answer !== undefined && 'challenge' in answer, `sybil ${i} is challenged`)
      await framed.write(SessionRequestCodec, { proof: { proof: bogus } })
      const verdict = await framed.read(SessionResponseCodec)
      assert.ok(verdict !== undefined && 'error' in verdict && verdict.error.code === 3, 'INVALID_PROOF')
    }
    const stranger = await first(await fresh())
    assert.ok(stranger.answer !== undefined && 'error' in stranger.answer && stranger.answer.error.code === 9, `a fresh id gets BUSY: ${JSON.stringify(stranger.answer)}`)
    await waitFor(async () => trusted.dial(node.host.peerId), { what: 'the trusted peer\'s connection', intervalMs: 300 })
    const session = await SessionClient.open({ host: trusted, peer: node.host.peerId, action: 'read', secret: 6n, commitment: poseidonCommitment(6n), prover })
    await session.close()
  })
})
