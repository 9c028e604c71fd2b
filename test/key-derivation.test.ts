import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import {
  BN254_R, bytesToBigInt, catalogueKey, catalogueSecret, fileContentKey, fileContentKeyFromRoot, fileRetrievalSecret,
  fileRetrievalSecretFromRoot, fileRoot, firstNonZeroScalar, infoOf, LABELS, manifestKeyFromRoot, manifestSecretFromRoot,
  nodeAtRestKey
} from '../src/domain/crypto/key-derivation.ts'
import { generateMasterSecret, phraseToMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { newFileId } from '../src/domain/formats/file-id.ts'

interface Case {
  function: keyof typeof LABELS
  label: string
  master?: string
  nodeSecret?: string
  fileId?: string
  fileRoot?: string
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

/** The output from the case's own root: the master, the file root or the node secret. */
function compute (c: Case): string {
  switch (c.function) {
    case 'fileRoot': return hex(fileRoot(bytes(c.master), bytes(c.fileId)))
    case 'fileContentKey': return hex(fileContentKeyFromRoot(bytes(c.fileRoot)))
    case 'fileRetrievalSecret': return fileRetrievalSecretFromRoot(bytes(c.fileRoot)).toString(10)
    case 'manifestKey': return hex(manifestKeyFromRoot(bytes(c.fileRoot)))
    case 'manifestSecret': return manifestSecretFromRoot(bytes(c.fileRoot)).toString(10)
    case 'catalogueKey': return hex(catalogueKey(bytes(c.master)))
    case 'catalogueSecret': return catalogueSecret(bytes(c.master)).toString(10)
    case 'nodeAtRestKey': return hex(nodeAtRestKey(bytes(c.nodeSecret)))
  }
}

/** The HKDF context of a case: the file id for the file root, empty for everything else. */
function contextOf (c: Case): Uint8Array {
  const context = c.function === 'fileRoot' ? bytes(c.fileId) : new Uint8Array(0)
  return c.attempt === undefined ? context : Uint8Array.from([...context, c.attempt])
}

describe('key derivation', () => {
  it('reproduces every published test vector (test/vectors/key-derivation.json)', () => {
    assert.equal(vectors.bn254ScalarFieldOrder, BN254_R.toString(10))
    assert.ok(vectors.cases.length >= 40)
    const seen = new Set<string>()
    for (const c of vectors.cases) {
      seen.add(c.function)
      assert.equal(c.label, LABELS[c.function])
      assert.equal(hex(infoOf(c.label, contextOf(c))), c.info, `${c.function} info`)
      assert.equal(compute(c), c.output, `${c.function} ${c.master ?? c.nodeSecret} ${c.fileId ?? ''}`)
      if (c.fileRoot !== undefined) {
        // the published root is the one the master and file id give
        assert.equal(hex(fileRoot(bytes(c.master), bytes(c.fileId))), c.fileRoot)
      }
      if (c.okm !== undefined) assert.equal((bytesToBigInt(bytes(c.okm)) % BN254_R).toString(10), c.output)
    }
    assert.deepEqual([...seen].sort(), Object.keys(LABELS).sort())
  })

  it('keeps fileContentKey and fileRetrievalSecret as the root-based values of fileRoot(master, fileId)', () => {
    for (const c of vectors.cases) {
      if (c.function === 'fileContentKey') assert.equal(hex(fileContentKey(bytes(c.master), bytes(c.fileId))), c.output)
      if (c.function === 'fileRetrievalSecret') assert.equal(fileRetrievalSecret(bytes(c.master), bytes(c.fileId)).toString(10), c.output)
    }
  })

  it('maps the published recovery phrases to their masters', () => {
    for (const { master, phrase } of vectors.recoveryPhrases) assert.equal(hex(phraseToMasterSecret(phrase)), master)
  })

  it('gives every label, file and root its own output', () => {
    const master = generateMasterSecret()
    const [a, b] = [newFileId(), newFileId()]
    const [ra, rb] = [fileRoot(master, a), fileRoot(master, b)]
    const outputs = [
      hex(ra), hex(rb), hex(fileContentKey(master, a)), hex(fileContentKey(master, b)), hex(catalogueKey(master)),
      hex(manifestKeyFromRoot(ra)), hex(manifestKeyFromRoot(rb)),
      fileRetrievalSecret(master, a).toString(16), fileRetrievalSecret(master, b).toString(16), catalogueSecret(master).toString(16),
      manifestSecretFromRoot(ra).toString(16), manifestSecretFromRoot(rb).toString(16),
      hex(nodeAtRestKey(master)), hex(fileContentKey(generateMasterSecret(), a)),
      // a file root is not a master secret: the same bytes as either root give other values
      hex(fileContentKeyFromRoot(master))
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
      const root = fileRoot(master, fileId)
      for (const key of [root, fileContentKey(master, fileId), manifestKeyFromRoot(root)]) assert.equal(key.byteLength, 32)
      for (const s of [fileRetrievalSecret(master, fileId), manifestSecretFromRoot(root), catalogueSecret(master)]) assert.ok(s > 0n && s < BN254_R)
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
    assert.throws(() => fileRoot(master, new Uint8Array(17)), { name: 'InvalidInputError' })
    for (const fromRoot of [fileContentKeyFromRoot, fileRetrievalSecretFromRoot, manifestKeyFromRoot, manifestSecretFromRoot]) {
      assert.throws(() => fromRoot(new Uint8Array(16)), { name: 'InvalidInputError' })
      assert.throws(() => fromRoot('f'.repeat(32) as unknown as Uint8Array), { name: 'InvalidInputError' })
    }
    assert.throws(() => nodeAtRestKey(new Uint8Array(16)), { name: 'InvalidInputError' })
  })
})
