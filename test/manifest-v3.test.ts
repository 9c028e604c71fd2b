import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { decodeManifest, encodeManifest, InvalidManifestError, validateManifest, type Manifest } from '../src/domain/formats/manifest.ts'
import { autoScheme, parseSchemeChoice, shardSizeFor, stripeCount } from '../src/domain/formats/stripe-layout.ts'
import { InvalidInputError } from '../src/errors.ts'
import { makeManifest } from './helpers/owner-fixtures.ts'

const value = (JSON.parse(readFileSync(new URL('./vectors/erasure.json', import.meta.url), 'utf8')) as { file: { value: Manifest } }).file.value
const wire = (): Record<string, any> => JSON.parse(Buffer.from(encodeManifest(value)).toString('utf8'))
const refuses = (doc: unknown, why: RegExp): void => {
  assert.throws(() => decodeManifest(Buffer.from(JSON.stringify(doc))), (err: Error) => err instanceof InvalidManifestError && why.test(err.message))
}

describe('manifest version 3: strict like version 2', () => {
  it('round-trips, and a version 2 manifest is still version 2', () => {
    assert.deepEqual(validateManifest(value), value)
    const v2 = makeManifest()
    assert.deepEqual(decodeManifest(encodeManifest(v2)), v2)
    assert.equal(JSON.parse(Buffer.from(encodeManifest(v2)).toString('utf8')).scheme, undefined)
  })

  it('refuses the other version\'s layout keys, and a version 3 value without its scheme', () => {
    refuses({ ...wire(), chunks: [] }, /unknown|chunks/)
    refuses({ ...wire(), version: 2 }, /./)
    assert.throws(() => validateManifest({ ...value, erasure: undefined } as unknown as Manifest), InvalidManifestError)
    assert.throws(() => validateManifest({ ...makeManifest(), erasure: { data: 2, parity: 1 } }), InvalidManifestError)
  })

  it('refuses a stripe count, a stripe width or a holder list that does not follow from size, scheme and shard size', () => {
    const w = wire()
    refuses({ ...w, stripes: w.stripes.slice(1) }, /stripes/)
    refuses({ ...w, stripes: [w.stripes[0], w.stripes[1].slice(1)] }, /stripes\[1\]/)
    refuses({ ...w, holders: [w.holders[0]] }, /holders/)
    refuses({ ...w, holders: [w.holders[0], w.holders[1].slice(1)] }, /holders\[1\]/)
    refuses({ ...w, size: 129 }, /stripes/)
  })

  it('refuses shard sizes that are not a multiple of 8 or above 1 MiB, and schemes over 256 shards', () => {
    const w = wire()
    refuses({ ...w, shardSize: 12 }, /shardSize/)
    refuses({ ...w, shardSize: 2 * 1024 * 1024 }, /shardSize/)
    refuses({ ...w, scheme: { data: 200, parity: 57 } }, /scheme/)
    refuses({ ...w, scheme: { data: 4, parity: 0 } }, /scheme\.parity/)
    refuses({ ...w, scheme: { data: 4, parity: 2, extra: 1 } }, /scheme/)
  })

  it('refuses repeated shard ids and receipts that point outside the stripes', () => {
    const w = wire()
    refuses({ ...w, stripes: [w.stripes[0], [w.stripes[0][0], ...w.stripes[1].slice(1)]] }, /repeat/)
    refuses({ ...w, receipts: [[0, 2, 0, 1, w.receipts[0][4]]] }, /receipts\[0\]\[1\]/)
    refuses({ ...w, receipts: [[0, 0, 6, 1, w.receipts[0][4]]] }, /receipts\[0\]\[2\]/)
    refuses({ ...w, receipts: [[0, 0, 1, w.receipts[0][4]]] }, /receipts\[0\]/)
  })
})

describe('stripe layout and scheme choice', () => {
  it('shard sizes: small files in one stripe of 8-byte multiples, large ones in 1 MiB shards', () => {
    assert.equal(shardSizeFor(0, { data: 4, parity: 2 }), 8)
    assert.equal(shardSizeFor(11, { data: 3, parity: 3 }), 8)
    assert.equal(shardSizeFor(100, { data: 4, parity: 2 }), 32)
    assert.equal(shardSizeFor(10 * 2 ** 30, { data: 4, parity: 2 }), 2 ** 20)
    assert.equal(stripeCount(4 * 2 ** 20 + 1, { data: 4, parity: 2 }, 2 ** 20), 2)
  })

  it('auto: copies below six nodes, then k+m with m = min(6, n/2) over at most 12 nodes', () => {
    assert.deepEqual(autoScheme(0), { kind: 'replicas', replicas: 3 })
    assert.deepEqual(autoScheme(5), { kind: 'replicas', replicas: 3 })
    assert.deepEqual(autoScheme(6), { kind: 'erasure', scheme: { data: 3, parity: 3 } })
    assert.deepEqual(autoScheme(7), { kind: 'erasure', scheme: { data: 4, parity: 3 } })
    assert.deepEqual(autoScheme(8), { kind: 'erasure', scheme: { data: 4, parity: 4 } })
    assert.deepEqual(autoScheme(500), { kind: 'erasure', scheme: { data: 6, parity: 6 } })
  })

  it('the setting reads auto, K+M and replicas:N, and nothing else', () => {
    assert.deepEqual(parseSchemeChoice('auto'), { kind: 'auto' })
    assert.deepEqual(parseSchemeChoice('10+4'), { kind: 'erasure', scheme: { data: 10, parity: 4 } })
    assert.deepEqual(parseSchemeChoice('replicas:2'), { kind: 'replicas', replicas: 2 })
    for (const bad of ['', '4+0', '0+2', '4-2', '4+2 ', 'replicas:0', 'replicas:17', '200+100', 'Auto']) {
      assert.throws(() => parseSchemeChoice(bad), InvalidInputError, bad)
    }
  })
})
