import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { beforeEach, describe, it } from 'node:test'
import { AbortError, InvalidInputError } from '../../src/errors.ts'
import type { ErasureCodec, ErasureScheme } from '../../src/ports/erasure-codec.ts'
import { TooFewShardsError, UnsupportedErasureSchemeError } from '../../src/domain/formats/stripe-errors.ts'
import { rejectsWith } from '../helpers/rejects-with.ts'
import { seededRandom } from '../helpers/seeded-random.ts'

/** Every way of choosing `size` of `0..n-1`, ascending. */
function subsets (n: number, size: number): number[][] {
  if (size === 0) return [[]]
  if (n < size) return []
  return [...subsets(n - 1, size - 1).map((s) => [...s, n - 1]), ...subsets(n - 1, size)]
}

function shardsOf (scheme: ErasureScheme, stripe: Uint8Array, parity: Uint8Array): Uint8Array[] {
  const size = stripe.byteLength / scheme.data
  return Array.from({ length: scheme.data + scheme.parity }, (_, i) => i < scheme.data
    ? stripe.subarray(i * size, (i + 1) * size)
    : parity.subarray((i - scheme.data) * size, (i - scheme.data + 1) * size))
}

function keepOnly (shards: Uint8Array[], kept: number[]): Array<Uint8Array | undefined> {
  return shards.map((s, i) => kept.includes(i) ? Uint8Array.from(s) : undefined)
}

/** The ErasureCodec contract (src/ports/erasure-codec.ts) as tests; a fresh codec per test. */
export function erasureCodecSuite (name: string, create: () => ErasureCodec): void {
  describe(`ErasureCodec conformance: ${name}`, () => {
    let codec: ErasureCodec
    beforeEach(() => { codec = create() })

    for (const scheme of [{ data: 1, parity: 1 }, { data: 2, parity: 2 }, { data: 4, parity: 2 }, { data: 3, parity: 3 }, { data: 5, parity: 3 }]) {
      it(`${scheme.data}+${scheme.parity}: every choice of ${scheme.data} shards gives the stripe back`, async () => {
        const stripe = new Uint8Array(randomBytes(scheme.data * 64))
        const before = Uint8Array.from(stripe)
        const parity = await codec.encode(scheme, stripe)
        assert.equal(parity.byteLength, scheme.parity * 64)
        assert.deepEqual(stripe, before, 'encode leaves the stripe as it was')
        const shards = shardsOf(scheme, stripe, parity)
        const n = scheme.data + scheme.parity
        for (const size of [scheme.data, n]) {
          for (const kept of subsets(n, size)) {
            const given = keepOnly(shards, kept)
            const copies = given.map((s) => s === undefined ? undefined : Uint8Array.from(s))
            assert.deepEqual(await codec.decode(scheme, given), before, `from shards ${kept.join(',')}`)
            assert.deepEqual(given, copies, 'decode leaves the shards as they were')
          }
        }
      })
    }

    it('the largest scheme it claims: random choices of k shards of a stripe', async () => {
      const scheme = { data: codec.limits.maxData, parity: codec.limits.maxParity }
      const size = codec.limits.shardAlignment * 32
      const stripe = new Uint8Array(randomBytes(scheme.data * size))
      const shards = shardsOf(scheme, stripe, await codec.encode(scheme, stripe))
      const random = seededRandom(13)
      for (let round = 0; round < 20; round++) {
        const order = shards.map((_, i) => i).sort(() => random() - 0.5)
        assert.deepEqual(await codec.decode(scheme, keepOnly(shards, order.slice(0, scheme.data))), stripe)
      }
    })

    it('parity depends on every data byte: flipping one changes it', async () => {
      const scheme = { data: 4, parity: 2 }
      const stripe = new Uint8Array(randomBytes(4 * 1024))
      const parity = await codec.encode(scheme, stripe)
      for (const at of [0, 1023, 2048, 4095]) {
        const flipped = Uint8Array.from(stripe)
        flipped[at]! ^= 1
        const other = await codec.encode(scheme, flipped)
        assert.notDeepEqual(other.subarray(0, 1024), parity.subarray(0, 1024), `byte ${at}`)
        assert.notDeepEqual(other.subarray(1024), parity.subarray(1024), `byte ${at}`)
      }
    })

    it('a megabyte shard, as put sends them', async () => {
      const scheme = { data: 4, parity: 2 }
      const stripe = new Uint8Array(randomBytes(4 * 1024 * 1024))
      const shards = shardsOf(scheme, stripe, await codec.encode(scheme, stripe))
      assert.deepEqual(await codec.decode(scheme, keepOnly(shards, [1, 3, 4, 5])), stripe)
    })

    it('concurrent calls do not mix their stripes', async () => {
      const scheme = { data: 3, parity: 2 }
      const stripes = Array.from({ length: 8 }, () => new Uint8Array(randomBytes(3 * 4096)))
      const parities = await Promise.all(stripes.map(async (s) => codec.encode(scheme, s)))
      const decoded = await Promise.all(stripes.map(async (s, i) => codec.decode(scheme, keepOnly(shardsOf(scheme, s, parities[i]!), [2, 3, 4]))))
      decoded.forEach((d, i) => assert.deepEqual(d, stripes[i]))
    })

    it('fewer than k shards: TooFewShardsError', async () => {
      const scheme = { data: 4, parity: 2 }
      const stripe = new Uint8Array(randomBytes(4 * 64))
      const shards = shardsOf(scheme, stripe, await codec.encode(scheme, stripe))
      await rejectsWith(codec.decode(scheme, keepOnly(shards, [0, 1, 5])), TooFewShardsError)
      await rejectsWith(codec.decode(scheme, [undefined, undefined, undefined, undefined, undefined, undefined]), TooFewShardsError)
    })

    it('shards of different sizes, or the wrong number of slots: InvalidInputError', async () => {
      const scheme = { data: 2, parity: 1 }
      await rejectsWith(codec.decode(scheme, [new Uint8Array(64), new Uint8Array(56), undefined]), InvalidInputError)
      await rejectsWith(codec.decode(scheme, [new Uint8Array(64), new Uint8Array(64)]), InvalidInputError)
      await rejectsWith(codec.encode(scheme, new Uint8Array(0)), InvalidInputError)
    })

    it('a scheme beyond its limits or an unaligned shard: UnsupportedErasureSchemeError', async () => {
      const { maxData, maxParity, shardAlignment } = codec.limits
      await rejectsWith(codec.encode({ data: maxData + 1, parity: 1 }, new Uint8Array((maxData + 1) * shardAlignment)), UnsupportedErasureSchemeError)
      await rejectsWith(codec.encode({ data: 2, parity: maxParity + 1 }, new Uint8Array(2 * shardAlignment)), UnsupportedErasureSchemeError)
      if (shardAlignment > 1) await rejectsWith(codec.encode({ data: 2, parity: 1 }, new Uint8Array(2 * (shardAlignment + 1))), UnsupportedErasureSchemeError)
    })

    it('checks its signal before any work', async () => {
      const signal = AbortSignal.abort()
      await rejectsWith(codec.encode({ data: 2, parity: 1 }, new Uint8Array(16), { signal }), AbortError)
      await rejectsWith(codec.decode({ data: 2, parity: 1 }, [new Uint8Array(8), new Uint8Array(8), undefined], { signal }), AbortError)
    })
  })
}
