import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  BN254_SCALAR_FIELD_ORDER as r, fieldElementFromDecimal, fieldElementToDecimal, isFieldElement
} from '../src/domain/proofs/field-element.ts'
import {
  BN254_BASE_FIELD_MODULUS as q, decodeGroth16Proof, encodeGroth16Proof, GROTH16_PROOF_BYTES, type Groth16Proof
} from '../src/domain/proofs/groth16-proof.ts'
import { commitmentFromDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { deriveProofContext, proofContextPreimage, type ProofContextInput } from '../src/domain/proofs/proof-context.ts'

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'))

describe('field elements', () => {
  it('accepts exactly [0, r)', () => {
    assert.equal(isFieldElement(0n), true)
    assert.equal(isFieldElement(r - 1n), true)
    assert.equal(isFieldElement(r), false)
    assert.equal(isFieldElement(-1n), false)
    assert.equal(isFieldElement(1), false)
  })

  it('has one decimal spelling per value', () => {
    assert.equal(fieldElementToDecimal(123n), '123')
    assert.equal(fieldElementFromDecimal('0'), 0n)
    assert.equal(fieldElementFromDecimal((r - 1n).toString()), r - 1n)
    for (const bad of ['', '01', '+1', '-1', ' 1', '1 ', '0x1', '1e3', r.toString(), 'x'.repeat(5), 7]) {
      assert.throws(() => fieldElementFromDecimal(bad), { name: 'InvalidFieldElementError' }, String(bad))
    }
    assert.throws(() => fieldElementToDecimal(r), { name: 'InvalidFieldElementError' })
  })
})

describe('Poseidon commitment', () => {
  it('matches circomlib Poseidon(1) on the published vector', () => {
    // poseidon([1]) from circomlib's test suite (and circomlibjs').
    assert.equal(poseidonCommitment(1n), 18586133768512220936620570745912940619677854269274689475585506675881198879027n)
  })

  it('rejects secrets outside the field with InvalidFieldElementError', () => {
    assert.throws(() => poseidonCommitment(r), { name: 'InvalidFieldElementError' })
    assert.throws(() => poseidonCommitment(-1n), { name: 'InvalidFieldElementError' })
    assert.throws(() => poseidonCommitment(1 as unknown as bigint), { name: 'InvalidFieldElementError' })
  })

  it('parses commitments strictly from the wire', () => {
    const c = poseidonCommitment(42n)
    assert.equal(commitmentFromDecimal(c.toString()), c)
    assert.throws(() => commitmentFromDecimal('0' + c.toString()), { name: 'InvalidFieldElementError' })
    assert.throws(() => commitmentFromDecimal(c), { name: 'InvalidFieldElementError' })
  })
})

describe('proof context', async () => {
  const file = JSON.parse(await readFile(new URL('./vectors/proof-context.json', import.meta.url), 'utf8')) as {
    vectors: Array<{ name: string, challenge: string, storageNode: string, requester: string, action: 'read' | 'delete', expiresAt: number, preimage: string, context: string }>
  }
  const base: ProofContextInput = {
    challenge: new Uint8Array(32).fill(7),
    storageNode: hex('002408011220' + '11'.repeat(32)),
    requester: hex('002408011220' + '22'.repeat(32)),
    action: 'read',
    expiresAt: 1767225600000
  }

  for (const v of file.vectors) {
    it(`reproduces the vector: ${v.name}`, () => {
      const input = { challenge: hex(v.challenge), storageNode: hex(v.storageNode), requester: hex(v.requester), action: v.action, expiresAt: v.expiresAt }
      assert.equal(Buffer.from(proofContextPreimage(input)).toString('hex'), v.preimage)
      assert.equal(deriveProofContext(input).toString(), v.context)
    })
  }

  it('changes with every field, and is a field element below 2^253', () => {
    const seen = new Set<bigint>()
    const variants: ProofContextInput[] = [
      base,
      { ...base, challenge: new Uint8Array(32).fill(8) },
      { ...base, storageNode: base.requester, requester: base.storageNode },
      { ...base, action: 'delete' },
      { ...base, expiresAt: base.expiresAt + 1 }
    ]
    for (const input of variants) {
      const context = deriveProofContext(input)
      assert.ok(context < 1n << 253n && isFieldElement(context))
      seen.add(context)
    }
    assert.equal(seen.size, variants.length)
  })

  it('takes real libp2p peer id multihash bytes', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const bytes = peer.toMultihash().bytes
    assert.equal(bytes.byteLength, 38)
    assert.equal(typeof deriveProofContext({ ...base, storageNode: bytes }), 'bigint')
  })

  it('rejects malformed input with InvalidInputError', () => {
    const bad: Array<Partial<ProofContextInput> & Record<string, unknown>> = [
      { challenge: new Uint8Array(31) },
      { challenge: new Uint8Array(33) },
      { challenge: 'x'.repeat(32) as unknown as Uint8Array },
      { storageNode: new Uint8Array(0) },
      { requester: new Uint8Array(129) },
      { action: 'write' as 'read' },
      { expiresAt: -1 },
      { expiresAt: 1.5 },
      { expiresAt: 2 ** 53 },
      { expiresAt: 10n as unknown as number }
    ]
    for (const patch of bad) {
      assert.throws(() => deriveProofContext({ ...base, ...patch }), { name: 'InvalidInputError' }, JSON.stringify(Object.keys(patch)))
    }
  })
})

describe('Groth16 proof wire encoding', () => {
  const proof: Groth16Proof = { a: [1n, 2n], b: [[3n, 4n], [5n, 6n]], c: [7n, q - 1n] }

  it('is 256 bytes in the documented order and round-trips', () => {
    const bytes = encodeGroth16Proof(proof)
    assert.equal(bytes.byteLength, GROTH16_PROOF_BYTES)
    for (let i = 0; i < 7; i++) assert.equal(bytes[i * 32 + 31], i + 1, `coordinate ${i} is big-endian at ${i * 32}`)
    assert.deepEqual(decodeGroth16Proof(bytes), proof)
  })

  it('rejects any other length', () => {
    for (const n of [0, 255, 257, 512]) {
      assert.throws(() => decodeGroth16Proof(new Uint8Array(n)), { name: 'MalformedProofError' })
    }
    assert.throws(() => decodeGroth16Proof('x' as unknown as Uint8Array), { name: 'MalformedProofError' })
  })

  it('rejects every coordinate >= q', () => {
    for (let i = 0; i < 8; i++) {
      const bytes = encodeGroth16Proof(proof)
      const big = Buffer.from(q.toString(16).padStart(64, '0'), 'hex')
      bytes.set(big, i * 32)
      assert.throws(() => decodeGroth16Proof(bytes), { name: 'MalformedProofError' }, `coordinate ${i} = q`)
      bytes.fill(0xff, i * 32, i * 32 + 32)
      assert.throws(() => decodeGroth16Proof(bytes), { name: 'MalformedProofError' }, `coordinate ${i} = 2^256-1`)
    }
  })

  it('refuses to encode a malformed proof', () => {
    assert.throws(() => encodeGroth16Proof({ ...proof, a: [q, 0n] }), { name: 'MalformedProofError' })
    assert.throws(() => encodeGroth16Proof({ ...proof, b: [[1n, 2n]] } as unknown as Groth16Proof), { name: 'MalformedProofError' })
    assert.throws(() => encodeGroth16Proof({ ...proof, c: ['1', '2'] } as unknown as Groth16Proof), { name: 'MalformedProofError' })
  })
})
