import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import {
  BN254_R, batchDeleteSecret, batchReadSecret, batchRoot, bytesToBigInt, catalogueDeleteSecret, catalogueKey, catalogueSecret, catalogueWriteKeySeed, contentKey, deleteSecret, leaseSecret,
  fileRoot, firstNonZeroScalar, infoOf, LABELS, manifestKey, manifestSecret, nodeAtRestKey, readRoot, retrievalSecret, writeKeySeed
} from '../src/domain/crypto/key-derivation.ts'
import { ownerFileCapabilities, writeKeyOf, writerPinOf } from '../src/domain/capabilities/file-capabilities.ts'
import { generateMasterSecret, phraseToMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { newFileId } from '../src/domain/formats/file-id.ts'

interface Case {
  function: string
  label: string
  master?: string
  nodeSecret?: string
  fileId?: string
  batchId?: string
  batchRoot?: string
  fileRoot?: string
  readRoot?: string
  attempt?: number
  info: string
  okm?: string
  output: string
  publicKey?: string
  writerPin?: string
}
const vectors = JSON.parse(readFileSync(new URL('./vectors/key-derivation.json', import.meta.url), 'utf8')) as {
  bn254ScalarFieldOrder: string
  recoveryPhrases: Array<{ master: string, phrase: string }>
  cases: Case[]
}
const bytes = (text: string | undefined): Uint8Array => Uint8Array.from(Buffer.from(text ?? '', 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Each vector function (the exported name), its label in LABELS and its output from the case's own root. */
const FUNCTIONS: Record<string, { label: keyof typeof LABELS, compute: (c: Case) => string }> = {
  fileRoot: { label: 'fileRoot', compute: (c) => hex(fileRoot(bytes(c.master), bytes(c.fileId))) },
  readRoot: { label: 'readRoot', compute: (c) => hex(readRoot(bytes(c.fileRoot))) },
  writeKeySeed: { label: 'writeKey', compute: (c) => hex(writeKeySeed(bytes(c.fileRoot))) },
  deleteSecret: { label: 'deleteSecret', compute: (c) => deleteSecret(bytes(c.fileRoot)).toString(10) },
  contentKey: { label: 'contentKey', compute: (c) => hex(contentKey(bytes(c.readRoot))) },
  retrievalSecret: { label: 'retrievalSecret', compute: (c) => retrievalSecret(bytes(c.readRoot)).toString(10) },
  manifestKey: { label: 'manifestKey', compute: (c) => hex(manifestKey(bytes(c.readRoot))) },
  manifestSecret: { label: 'manifestSecret', compute: (c) => manifestSecret(bytes(c.readRoot)).toString(10) },
  catalogueKey: { label: 'catalogueKey', compute: (c) => hex(catalogueKey(bytes(c.master))) },
  catalogueSecret: { label: 'catalogueSecret', compute: (c) => catalogueSecret(bytes(c.master)).toString(10) },
  catalogueDeleteSecret: { label: 'catalogueDeleteSecret', compute: (c) => catalogueDeleteSecret(bytes(c.master)).toString(10) },
  catalogueWriteKeySeed: { label: 'catalogueWriteKey', compute: (c) => hex(catalogueWriteKeySeed(bytes(c.master))) },
  nodeAtRestKey: { label: 'nodeAtRestKey', compute: (c) => hex(nodeAtRestKey(bytes(c.nodeSecret))) },
  batchRoot: { label: 'batchRoot', compute: (c) => hex(batchRoot(bytes(c.master), bytes(c.batchId))) },
  batchReadSecret: { label: 'batchReadSecret', compute: (c) => batchReadSecret(bytes(c.batchRoot)).toString(10) },
  batchDeleteSecret: { label: 'batchDeleteSecret', compute: (c) => batchDeleteSecret(bytes(c.batchRoot)).toString(10) },
  leaseSecret: { label: 'leaseSecret', compute: (c) => leaseSecret(bytes(c.master)).toString(10) }
}

/** The HKDF context of a case: the file id for the file root, empty for everything else. */
function contextOf (c: Case): Uint8Array {
  const context = c.function === 'fileRoot' ? bytes(c.fileId) : c.function === 'batchRoot' ? bytes(c.batchId) : new Uint8Array(0)
  return c.attempt === undefined ? context : Uint8Array.from([...context, c.attempt])
}

describe('key derivation', () => {
  it('reproduces every published test vector (test/vectors/key-derivation.json)', () => {
    assert.equal(vectors.bn254ScalarFieldOrder, BN254_R.toString(10))
    assert.equal(vectors.cases.length, 163)
    const seen = new Set<string>()
    for (const c of vectors.cases) {
      const fn = FUNCTIONS[c.function]
      assert.ok(fn !== undefined, `unknown vector function ${c.function}`)
      seen.add(fn.label)
      assert.equal(c.label, LABELS[fn.label])
      assert.equal(hex(infoOf(c.label, contextOf(c))), c.info, `${c.function} info`)
      assert.equal(fn.compute(c), c.output, `${c.function} ${c.master ?? c.nodeSecret} ${c.fileId ?? ''}`)
      // every intermediate root the case gives is the one its inputs derive
      if (c.fileRoot !== undefined) assert.equal(hex(fileRoot(bytes(c.master), bytes(c.fileId))), c.fileRoot)
      if (c.batchRoot !== undefined) assert.equal(hex(batchRoot(bytes(c.master), bytes(c.batchId))), c.batchRoot)
      if (c.readRoot !== undefined) assert.equal(hex(readRoot(bytes(c.fileRoot))), c.readRoot)
      if (c.okm !== undefined) assert.equal((bytesToBigInt(bytes(c.okm)) % BN254_R).toString(10), c.output)
      if (c.publicKey !== undefined) assert.equal(hex(writeKeyOf(bytes(c.output)).publicKey), c.publicKey, `${c.function} public key`)
      if (c.writerPin !== undefined) assert.equal(hex(writerPinOf(bytes(c.publicKey))), c.writerPin, `${c.function} writer pin`)
    }
    assert.deepEqual([...seen].sort(), Object.keys(LABELS).sort(), 'every label has vectors')
    assert.equal(vectors.cases.filter((c) => c.writerPin !== undefined).length, 16)
  })

  it('gives the same capabilities from the master as the vectors give step by step', () => {
    const byFile = new Map<string, Map<string, Case>>()
    for (const c of vectors.cases) {
      if (c.fileId === undefined) continue
      const key = `${c.master}/${c.fileId}`
      byFile.set(key, (byFile.get(key) ?? new Map()).set(c.function, c))
    }
    assert.equal(byFile.size, 16)
    for (const cases of byFile.values()) {
      const some = cases.get('fileRoot')!
      const caps = ownerFileCapabilities(bytes(some.master), bytes(some.fileId))
      assert.equal(hex(caps.read.readRoot), cases.get('readRoot')!.output)
      assert.equal(hex(caps.write.seed), cases.get('writeKeySeed')!.output)
      assert.equal(hex(caps.write.publicKey), cases.get('writeKeySeed')!.publicKey)
      assert.equal(hex(caps.read.writerPin), cases.get('writeKeySeed')!.writerPin)
      assert.equal(caps.deleteSecret.toString(10), cases.get('deleteSecret')!.output)
    }
  })

  it('derives Ed25519 keys as RFC 8032 does (its test 1)', () => {
    const seed = bytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
    assert.equal(hex(writeKeyOf(seed).publicKey), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
  })

  it('maps the published recovery phrases to their masters', () => {
    for (const { master, phrase } of vectors.recoveryPhrases) assert.equal(hex(phraseToMasterSecret(phrase)), master)
  })

  it('gives every label, file and root its own output', () => {
    const master = generateMasterSecret()
    const [a, b] = [newFileId(), newFileId()]
    const [fa, fb] = [fileRoot(master, a), fileRoot(master, b)]
    const [ra, rb] = [readRoot(fa), readRoot(fb)]
    const outputs = [
      hex(fa), hex(fb), hex(ra), hex(rb), hex(writeKeySeed(fa)), hex(writeKeySeed(fb)),
      hex(contentKey(ra)), hex(contentKey(rb)), hex(manifestKey(ra)), hex(manifestKey(rb)),
      hex(catalogueKey(master)), hex(catalogueWriteKeySeed(master)), hex(nodeAtRestKey(master)),
      deleteSecret(fa).toString(16), deleteSecret(fb).toString(16), retrievalSecret(ra).toString(16), retrievalSecret(rb).toString(16),
      manifestSecret(ra).toString(16), manifestSecret(rb).toString(16), catalogueSecret(master).toString(16),
      catalogueDeleteSecret(master).toString(16),
      // a batch id equal to a file id still gives another root and other secrets
      hex(batchRoot(master, a)), batchReadSecret(batchRoot(master, a)).toString(16), batchDeleteSecret(batchRoot(master, a)).toString(16),
      hex(fileRoot(generateMasterSecret(), a)),
      // a file root is not a master secret: the same bytes under the file labels give other values
      hex(readRoot(master))
    ]
    assert.equal(new Set(outputs).size, outputs.length)
    // deterministic: the phrase alone brings every key back
    assert.deepEqual(contentKey(readRoot(fileRoot(Uint8Array.from(master), Uint8Array.from(a)))), contentKey(ra))
    assert.equal(deleteSecret(fileRoot(Uint8Array.from(master), Uint8Array.from(a))), deleteSecret(fa))
  })

  it('returns keys of their published sizes and scalars in [1, r)', () => {
    for (let i = 0; i < 50; i++) {
      const master = generateMasterSecret()
      const root = fileRoot(master, newFileId())
      const read = readRoot(root)
      assert.equal(read.byteLength, 16)
      for (const key of [root, writeKeySeed(root), contentKey(read), manifestKey(read), catalogueKey(master), catalogueWriteKeySeed(master)]) assert.equal(key.byteLength, 32)
      for (const s of [deleteSecret(root), retrievalSecret(read), manifestSecret(read), catalogueSecret(master), catalogueDeleteSecret(master)]) {
        assert.ok(s > 0n && s < BN254_R)
      }
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

  it('refuses roots and file ids of the wrong length: a read root never stands in for a file root', () => {
    const master = generateMasterSecret()
    const root = fileRoot(master, newFileId())
    assert.throws(() => fileRoot(new Uint8Array(31), newFileId()), { name: 'InvalidInputError' })
    assert.throws(() => fileRoot(master, new Uint8Array(17)), { name: 'InvalidInputError' })
    assert.throws(() => catalogueSecret(new Uint8Array(64)), { name: 'InvalidInputError' })
    // the read capability (16 bytes) cannot be fed where the file root goes: no write key, no delete secret from it
    for (const fromFile of [readRoot, writeKeySeed, deleteSecret]) {
      assert.throws(() => fromFile(readRoot(root)), { name: 'InvalidInputError' })
      assert.throws(() => fromFile('f'.repeat(64) as unknown as Uint8Array), { name: 'InvalidInputError' })
    }
    for (const fromRead of [contentKey, retrievalSecret, manifestKey, manifestSecret]) {
      assert.throws(() => fromRead(root), { name: 'InvalidInputError' })
      assert.throws(() => fromRead('f'.repeat(32) as unknown as Uint8Array), { name: 'InvalidInputError' })
    }
    assert.throws(() => nodeAtRestKey(new Uint8Array(16)), { name: 'InvalidInputError' })
  })
})
