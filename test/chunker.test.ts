import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { CHUNK_SIZE, fixedSizeChunks, positionedChunks } from '../src/domain/formats/chunker.ts'

async function collect<T> (source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}

/** `data` cut into pieces of the given sizes, cycling through them. */
function pieces (data: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0, i = 0; at < data.byteLength; i++) {
    const n = sizes[i % sizes.length]!
    out.push(data.subarray(at, at + n))
    at += n
  }
  return out
}

describe('fixed-size chunker', () => {
  it('defaults to 1 MiB chunks', async () => {
    assert.equal(CHUNK_SIZE, 1024 * 1024)
    const data = randomBytes(CHUNK_SIZE * 2 + 10)
    const chunks = await collect(fixedSizeChunks([data]))
    assert.deepEqual(chunks.map((c) => c.byteLength), [CHUNK_SIZE, CHUNK_SIZE, 10])
  })

  it('yields no chunk for an empty input, also when it is made of empty buffers', async () => {
    assert.deepEqual(await collect(fixedSizeChunks([])), [])
    assert.deepEqual(await collect(fixedSizeChunks([new Uint8Array(0), new Uint8Array(0)])), [])
  })

  it('cuts any input framing into the same chunks, the last one shorter and never empty', async () => {
    const size = 1000
    for (const length of [1, 999, 1000, 1001, 2000, 4567]) {
      const data = randomBytes(length)
      for (const framing of [[length], [1], [7, 993], [1000], [1001], [3000], [0, 5, 0, 400]]) {
        const chunks = await collect(positionedChunks(pieces(data, framing), { chunkSize: size }))
        const expected = Math.ceil(length / size)
        assert.equal(chunks.length, expected, `${length} in ${framing}`)
        chunks.forEach((c, i) => {
          assert.equal(c.index, i)
          assert.equal(c.final, i === expected - 1)
          assert.equal(c.bytes.byteLength, i < expected - 1 ? size : length - size * (expected - 1))
        })
        assert.ok(Buffer.concat(chunks.map((c) => c.bytes)).equals(data))
      }
    }
  })

  it('knows a chunk that ends exactly at the end of input is the last one', async () => {
    const data = randomBytes(3000)
    const chunks = await collect(positionedChunks(pieces(data, [1000]), { chunkSize: 1000 }))
    assert.deepEqual(chunks.map((c) => [c.index, c.final]), [[0, false], [1, false], [2, true]])
  })

  it('hands out chunks the source cannot change afterwards', async () => {
    const reused = new Uint8Array(10)
    async function * source (): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 4; i++) {
        reused.fill(i)
        yield reused
      }
    }
    const chunks = await collect(fixedSizeChunks(source(), { chunkSize: 10 }))
    assert.deepEqual(chunks.map((c) => c[0]), [0, 1, 2, 3])
  })

  it('reads the source lazily: one chunk is out before the rest is read', async () => {
    let reads = 0
    async function * source (): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 100; i++) {
        reads++
        yield new Uint8Array(10)
      }
    }
    const it = positionedChunks(source(), { chunkSize: 20 })
    const first = await it.next()
    assert.equal(first.value?.index, 0)
    // two buffers filled chunk 0, the third told the chunker chunk 0 was not the last
    assert.equal(reads, 3)
    await it.return(undefined)
  })

  it('refuses bad chunk sizes and non-byte input', async () => {
    for (const chunkSize of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(collect(fixedSizeChunks([new Uint8Array(1)], { chunkSize })), { name: 'InvalidInputError' })
    }
    await assert.rejects(collect(fixedSizeChunks(['text' as unknown as Uint8Array])), { name: 'InvalidInputError' })
  })

  it('a wrong expectedBytes hint changes no chunk, only how the first buffer is sized', async () => {
    const chunkSize = 1000
    for (const length of [0, 1, 999, 1000, 1001, 2500]) {
      const data = randomBytes(length)
      // the input in uneven pieces, as a stream gives it
      const pieces = [data.subarray(0, 7), data.subarray(7, 1333), data.subarray(1333)].filter((p) => p.byteLength > 0)
      const plain = await collect(positionedChunks(pieces, { chunkSize }))
      for (const expectedBytes of [0, 1, Math.floor(length / 2), length, length * 3 + 1]) {
        const hinted = await collect(positionedChunks(pieces, { chunkSize, expectedBytes }))
        assert.deepEqual(hinted.map((c) => [c.index, c.final, Buffer.from(c.bytes).toString('hex')]), plain.map((c) => [c.index, c.final, Buffer.from(c.bytes).toString('hex')]), `${length} bytes, hint ${expectedBytes}`)
        for (const c of hinted) assert.ok(c.bytes.byteLength === chunkSize || c.final, 'only the last chunk is short')
      }
    }
  })
})
