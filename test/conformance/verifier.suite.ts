import assert from 'node:assert/strict'
import { afterEach, before, beforeEach, describe, it } from 'node:test'
import { buildBn128 } from 'ffjavascript'
import type { VerificationKey } from '../../src/adapters/proof/verification-key.ts'
import { QuloudError } from '../../src/errors.ts'
import { BN254_SCALAR_FIELD_ORDER as r } from '../../src/domain/proofs/field-element.ts'
import {
  BN254_BASE_FIELD_MODULUS as q, decodeGroth16Proof, encodeGroth16Proof, type Groth16Proof
} from '../../src/domain/proofs/groth16-proof.ts'
import type { Verifier } from '../../src/ports/verifier.ts'
import type { ProofFixtures } from '../helpers/proof-fixtures.ts'

export interface VerifierHarness {
  create (verificationKey: VerificationKey): Promise<Verifier>
  /** Proofs and keys, made once per test file. */
  fixtures (): ProofFixtures
}

/** The only errors a Verifier may throw for hostile input. */
const TYPED = ['MalformedProofError', 'InvalidFieldElementError']

type Verdict = boolean | string
/** true/false, or the name of a typed error; fails the test on any other throw. */
async function verdict (verifier: Verifier, proof: unknown, commitment: unknown, context: unknown): Promise<Verdict> {
  try {
    return await verifier.verify({ proof, commitment, context } as Parameters<Verifier['verify']>[0])
  } catch (err) {
    assert.ok(err instanceof QuloudError && TYPED.includes(err.name), `untyped or unexpected error: ${String(err)}`)
    return err.name
  }
}

const clone = (p: Groth16Proof): Groth16Proof => decodeGroth16Proof(encodeGroth16Proof(p))
const coordinates = ['a.x', 'a.y', 'b.x.c0', 'b.x.c1', 'b.y.c0', 'b.y.c1', 'c.x', 'c.y']
function withCoordinate (p: Groth16Proof, i: number, value: bigint): Groth16Proof {
  const bytes = encodeGroth16Proof(p)
  bytes.set(Buffer.from(value.toString(16).padStart(64, '0'), 'hex'), i * 32)
  return decodeGroth16Proof(bytes)
}

/**
 * The Verifier contract (src/ports/verifier.ts) as tests. Every adapter runs it.
 */
export function verifierSuite (name: string, harness: VerifierHarness): void {
  describe(`Verifier conformance: ${name}`, () => {
    let verifier: Verifier
    let f: ProofFixtures
    // Points the hostile tests need, computed with the curve library.
    let g1Generator: [bigint, bigint]
    let g2Generator: [[bigint, bigint], [bigint, bigint]]
    let twistPointOutsideSubgroup: [[bigint, bigint], [bigint, bigint]]

    // the fixtures and curve points are inputs, computed once; the subject is fresh per test
    before(async () => {
      f = harness.fixtures()
      const curve = await buildBn128(true)
      try {
        const g1 = curve.G1.toObject(curve.G1.oneAffine) as bigint[]
        const g2 = curve.G2.toObject(curve.G2.oneAffine) as bigint[][]
        g1Generator = [g1[0]!, g1[1]!]
        g2Generator = [[g2[0]![0]!, g2[0]![1]!], [g2[1]![0]!, g2[1]![1]!]]
        // Walk x = k + u until x³ + b' is a square in Fq2: a point on the twist whose
        // order is a multiple of the (huge) cofactor, so almost surely outside G2.
        const { F2, G2 } = curve
        for (let k = 1n; ; k++) {
          const x = F2.fromObject([k, 1n])
          const rhs = F2.add(F2.mul(F2.square(x), x), G2.b)
          if (!F2.isSquare(rhs)) continue
          const point = new Uint8Array(F2.n8 * 2)
          point.set(x)
          point.set(F2.sqrt(rhs), F2.n8)
          assert.ok(G2.isValid(point) && !G2.isZero(G2.timesScalar(point, curve.r)))
          const o = G2.toObject(point) as bigint[][]
          twistPointOutsideSubgroup = [[o[0]![0]!, o[0]![1]!], [o[1]![0]!, o[1]![1]!]]
          break
        }
      } finally {
        await curve.terminate()
      }
    })
    beforeEach(async () => {
      verifier = await harness.create(f.artefacts.verificationKey)
    })
    afterEach(async () => {
      await verifier.close()
    })

    it('accepts a proof for its (commitment, context)', async () => {
      assert.equal(await verdict(verifier, f.proof, f.commitment, f.context), true)
      assert.equal(await verdict(verifier, f.other.proof, f.other.commitment, f.other.context), true)
    })

    it('rejects the same proof for any other context', async () => {
      for (const context of [f.context + 1n, f.context - 1n, 0n, r - 1n, f.other.context]) {
        assert.equal(await verdict(verifier, f.proof, f.commitment, context), false, `context ${context}`)
      }
    })

    it('rejects the same proof for any other commitment', async () => {
      for (const commitment of [f.commitment + 1n, 0n, r - 1n, f.other.commitment]) {
        assert.equal(await verdict(verifier, f.proof, commitment, f.context), false, `commitment ${commitment}`)
      }
      assert.equal(await verdict(verifier, f.proof, f.context, f.commitment), false, 'public inputs swapped')
    })

    it('rejects each tampered proof coordinate', async () => {
      const original = encodeGroth16Proof(f.proof)
      for (let i = 0; i < 8; i++) {
        const value = BigInt('0x' + Buffer.from(original.subarray(i * 32, i * 32 + 32)).toString('hex'))
        const tampered = withCoordinate(f.proof, i, (value + 1n) % q)
        assert.equal(await verdict(verifier, tampered, f.commitment, f.context), false, coordinates[i])
      }
    })

    it('rejects valid curve points swapped in from another proof or negated', async () => {
      const { proof, other } = f
      const variants: Array<[string, Groth16Proof]> = [
        ['A from another proof', { ...clone(proof), a: other.proof.a }],
        ['B from another proof', { ...clone(proof), b: other.proof.b }],
        ['C from another proof', { ...clone(proof), c: other.proof.c }],
        ['-A', { ...clone(proof), a: [proof.a[0], q - proof.a[1]] }],
        ['-C', { ...clone(proof), c: [proof.c[0], q - proof.c[1]] }],
        ['-B', { ...clone(proof), b: [proof.b[0], [(q - proof.b[1][0]) % q, (q - proof.b[1][1]) % q]] }],
        ['A and C swapped', { ...clone(proof), a: proof.c, c: proof.a }],
        ['generators', { a: g1Generator, b: g2Generator, c: g1Generator }]
      ]
      for (const [what, p] of variants) {
        assert.equal(await verdict(verifier, p, f.commitment, f.context), false, what)
      }
    })

    it('rejects a proof made with another verification key', async () => {
      assert.equal(await verdict(verifier, f.foreign.proof, f.commitment, f.context), false)
      const foreignVerifier = await harness.create(f.foreign.verificationKey)
      try {
        assert.equal(await verdict(foreignVerifier, f.foreign.proof, f.commitment, f.context), true, 'valid under its own key')
        assert.equal(await verdict(foreignVerifier, f.proof, f.commitment, f.context), false, 'and ours is not valid under it')
      } finally {
        await foreignVerifier.close()
      }
    })

    it('rejects points that are not on the curve', async () => {
      const variants: Array<[string, Groth16Proof]> = [
        ['A = (1, 1)', { ...clone(f.proof), a: [1n, 1n] }],
        ['C = (1, 1)', { ...clone(f.proof), c: [1n, 1n] }],
        ['B = ((1, 0), (1, 0))', { ...clone(f.proof), b: [[1n, 0n], [1n, 0n]] }],
        ['A = (0, 0) (infinity in some encodings)', { ...clone(f.proof), a: [0n, 0n] }],
        ['B = 0', { ...clone(f.proof), b: [[0n, 0n], [0n, 0n]] }],
        ['C = (0, 0)', { ...clone(f.proof), c: [0n, 0n] }],
        ['all zero', decodeGroth16Proof(new Uint8Array(256))]
      ]
      for (const [what, p] of variants) {
        assert.equal(await verdict(verifier, p, f.commitment, f.context), false, what)
      }
    })

    it('rejects B on the twist but outside the prime-order subgroup', async () => {
      const p = { ...clone(f.proof), b: twistPointOutsideSubgroup }
      assert.equal(await verdict(verifier, p, f.commitment, f.context), false)
    })

    it('rejects coordinates >= q with MalformedProofError', async () => {
      for (let i = 0; i < 8; i++) {
        const v = [f.proof.a[0], f.proof.a[1], ...f.proof.b[0], ...f.proof.b[1], f.proof.c[0], f.proof.c[1]]
        v[i] = v[i]! + q
        const p: Groth16Proof = { a: [v[0]!, v[1]!], b: [[v[2]!, v[3]!], [v[4]!, v[5]!]], c: [v[6]!, v[7]!] }
        assert.equal(await verdict(verifier, p, f.commitment, f.context), 'MalformedProofError', coordinates[i])
      }
    })

    it('rejects public inputs outside the scalar field with InvalidFieldElementError', async () => {
      for (const bad of [r, r + f.context, -1n, 2n ** 256n, 5, '5', null, undefined]) {
        assert.equal(await verdict(verifier, f.proof, f.commitment, bad), 'InvalidFieldElementError', `context ${String(bad)}`)
        assert.equal(await verdict(verifier, f.proof, bad, f.context), 'InvalidFieldElementError', `commitment ${String(bad)}`)
      }
      // context + r would be the same field element: accepting it would make proofs malleable.
      assert.equal(await verdict(verifier, f.proof, f.commitment + r, f.context), 'InvalidFieldElementError')
    })

    it('rejects malformed proof objects and JSON with MalformedProofError', async () => {
      const json = JSON.parse(JSON.stringify(f.proof, (_k, v) => typeof v === 'bigint' ? v.toString() : v))
      const bad: unknown[] = [
        null, undefined, 42, 'proof', [], {}, json,
        JSON.parse('{"a":[1,2],"b":[[3,4],[5,6]],"c":[7,8]}'),
        { ...f.proof, a: [f.proof.a[0]] },
        { ...f.proof, a: [...f.proof.a, 1n] },
        { ...f.proof, b: [f.proof.b[0]] },
        { ...f.proof, b: [f.proof.b[0], [1n, 2n, 3n]] },
        { ...f.proof, c: undefined },
        { ...f.proof, c: [-1n, 2n] },
        { a: f.proof.a, b: f.proof.b }
      ]
      for (const p of bad) {
        assert.equal(await verdict(verifier, p, f.commitment, f.context), 'MalformedProofError', JSON.stringify(p, (_k, v) => typeof v === 'bigint' ? `${v}n` : v))
      }
    })

    it('rejects malformed wire bytes at decode with MalformedProofError', () => {
      const good = encodeGroth16Proof(f.proof)
      assert.throws(() => decodeGroth16Proof(good.subarray(0, 255)), { name: 'MalformedProofError' })
      assert.throws(() => decodeGroth16Proof(new Uint8Array(257)), { name: 'MalformedProofError' })
      assert.throws(() => decodeGroth16Proof(new Uint8Array(256).fill(0xff)), { name: 'MalformedProofError' })
    })

    it('round-trips a proof through the wire encoding and still verifies it', async () => {
      assert.equal(await verdict(verifier, decodeGroth16Proof(encodeGroth16Proof(f.proof)), f.commitment, f.context), true)
    })

    it('keeps answers straight under concurrent calls', async () => {
      const calls = Array.from({ length: 12 }, (_, i) => i % 3 === 0
        ? { proof: f.proof, context: f.context, expected: true }
        : { proof: f.proof, context: f.context + BigInt(i), expected: false })
      const results = await Promise.all(calls.map(async (c) => verdict(verifier, c.proof, f.commitment, c.context)))
      assert.deepEqual(results, calls.map((c) => c.expected))
    })

    it('checks its AbortSignal before any work', async () => {
      const controller = new AbortController()
      controller.abort()
      await assert.rejects(verifier.verify({ proof: f.proof, commitment: f.commitment, context: f.context }, { signal: controller.signal }), { name: 'AbortError' })
    })

    it('rejects calls after close with ClosedError; close is idempotent', async () => {
      const v = await harness.create(f.artefacts.verificationKey)
      await v.close()
      await v.close()
      await assert.rejects(v.verify({ proof: f.proof, commitment: f.commitment, context: f.context }), { name: 'ClosedError' })
    })
  })
}
