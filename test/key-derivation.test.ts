import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import {
  BN254_R, bytesToBigInt, catalogueKey, catalogueSecret, fileContentKey, fileRetrievalSecret, firstNonZeroScalar,
  infoOf, LABELS, nodeAtRestKey
} from '../src/domain/key-derivation.ts'
import { generateMasterSecret, phraseToMasterSecret } from '../src/domain/master-secret.ts'
import { newFileId } from '../src/domain/file-id.ts'

interface Case {
  function: keyof typeof LABELS
  label: string
  master?: string
  nodeSecret?: string
  fileId?: string
  attempt?: number
  info: string
  okm?: string
  output: string
}
const vectors = JSON.parse(readFileSync(new URL('./vectors/key-derivation.json', import.meta.url), 'utf8')) as {
  bn254ScalarFieldOrder: string
  recoveryPhrases: Array<{ master: string, phrase: string }>
  cases: Case[]
}
const bytes = (text: string | undefined): Uint8Array => Uint8Array.from(Buffer.from(text ?? '', 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function compute (c: Case): string {
  switch (c.function) {
    case 'fileContentKey': return hex(fileContentKey(bytes(c.master), bytes(c.fileId)))
    case 'fileRetrievalSecret': return fileRetrievalSecret(bytes(c.master), bytes(c.fileId)).toString(10)
    case 'catalogueKey': return hex(catalogueKey(bytes(c.master)))
    case 'catalogueSecret': return catalogueSecret(bytes(c.master)).toString(10)
    case 'nodeAtRestKey': return hex(nodeAtRestKey(bytes(c.nodeSecret)))
  }
}

describe('key derivation', () => {
  it('reproduces every published test vector (test/vectors/key-derivation.json)', () => {
    assert.equal(vectors.bn254ScalarFieldOrder, BN254_R.toString(10))
    assert.ok(vectors.cases.length >= 40)
    const seen = new Set<string>()
    for (const c of vectors.cases) {
      seen.add(c.function)
      assert.equal(c.label, LABELS[c.function])
      const context = c.fileId === undefined ? new Uint8Array(0) : bytes(c.fileId)
      const withAttempt = c.attempt === undefined ? context : Uint8Array.from([...context, c.attempt])
      assert.equal(hex(infoOf(c.label, withAttempt)), c.info, `${c.function} info`)
      assert.equal(compute(c), c.output, `${c.function} ${c.master ?? c.nodeSecret} ${c.fileId ?? ''}`)
      if (c.okm !== undefined) assert.equal((bytesToBigInt(bytes(c.okm)) % BN254_R).toString(10), c.output)
    }
    assert.deepEqual([...seen].sort(), Object.keys(LABELS).sort())
  })

  it('maps the published recovery phrases to their masters', () => {
    for (const { master, phrase } of vectors.recoveryPhrases) assert.equal(hex(phraseToMasterSecret(phrase)), master)
  })

  it('gives every label, file and root its own output', () => {
    const master = generateMasterSecret()
    const [a, b] = [newFileId(), newFileId()]
    const outputs = [
      hex(fileContentKey(master, a)), hex(fileContentKey(master, b)), hex(catalogueKey(master)),
      fileRetrievalSecret(master, a).toString(16), fileRetrievalSecret(master, b).toString(16), catalogueSecret(master).toString(16),
      hex(nodeAtRestKey(master)), hex(fileContentKey(generateMasterSecret(), a))
    ]
    assert.equal(new Set(outputs).size, outputs.length)
    // deterministic: the phrase alone brings every key back
    assert.deepEqual(fileContentKey(master, a), fileContentKey(Uint8Array.from(master), Uint8Array.from(a)))
    assert.equal(fileRetrievalSecret(master, a), fileRetrievalSecret(Uint8Array.from(master), Uint8Array.from(a)))
  })

  it('returns 32-byte keys and scalars in [1, r)', () => {
    for (let i = 0; i < 50; i++) {
      const master = generateMasterSecret()
      const fileId = newFileId()
      assert.equal(fileContentKey(master, fileId).byteLength, 32)
      for (const s of [fileRetrievalSecret(master, fileId), catalogueSecret(master)]) assert.ok(s > 0n && s < BN254_R)
    }
  })

  it('retries with the next counter when a scalar reduces to zero', () => {
    const be64 = (n: bigint): Uint8Array => bytes(n.toString(16).padStart(128, '0'))
    const attempts: number[] = []
    const scalar = firstNonZeroScalar((attempt) => {
      attempts.push(attempt)
      return attempt === 0 ? be64(BN254_R) : attempt === 1 ? be64(2n * BN254_R) : be64(BN254_R + 5n)
    })
    assert.equal(scalar, 5n)
    assert.deepEqual(attempts, [0, 1, 2])
  })

  it('refuses roots and file ids of the wrong length', () => {
    const master = generateMasterSecret()
    assert.throws(() => fileContentKey(new Uint8Array(31), newFileId()), { name: 'InvalidInputError' })
    assert.throws(() => fileContentKey(master, new Uint8Array(32)), { name: 'InvalidInputError' })
    assert.throws(() => fileRetrievalSecret(master, new Uint8Array(15)), { name: 'InvalidInputError' })
    assert.throws(() => catalogueSecret(new Uint8Array(64)), { name: 'InvalidInputError' })
    assert.throws(() => nodeAtRestKey(new Uint8Array(16)), { name: 'InvalidInputError' })
  })
})
