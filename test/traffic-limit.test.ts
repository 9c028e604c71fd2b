import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { burstOf, installTrafficLimit, receivePaced, sendPaced, SLICE_BYTES, TrafficLimit } from '../src/adapters/libp2p/wire/traffic-limit.ts'
import { TokenBucket } from '../src/adapters/libp2p/wire/token-bucket.ts'
import { parseNodeConfig } from '../src/domain/config/node-config.ts'
import { ConfigError } from '../src/errors.ts'
import { initNode, runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

/** A stream that takes everything at once and records what it was given. */
function sink (): { stream: Parameters<typeof sendPaced>[0], sends: number[] } {
  const sends: number[] = []
  const stream = {
    status: 'open',
    writableNeedsDrain: false,
    send: (bytes: Uint8Array | Uint8ArrayList) => { sends.push(bytes.byteLength); return true },
    addEventListener: () => {},
    removeEventListener: () => {}
  } as unknown as Parameters<typeof sendPaced>[0]
  return { stream, sends }
}

describe('token bucket', () => {
  it('lets bytes through at the rate on average, whatever the slice size', async () => {
    const bucket = new TokenBucket(1_000_000, 100_000)
    const started = performance.now()
    for (let sent = 0; sent < 1_600_000; sent += SLICE_BYTES) await bucket.take(SLICE_BYTES)
    const seconds = (performance.now() - started) / 1000
    // 1.6 MB at 1 MB/s with a 100 kB burst: at least 1.5 s (load only makes it slower)
    assert.ok(seconds >= 1.4, `took ${seconds} s`)
    assert.ok(bucket.passed >= 1_600_000)
  })

  it('serves takers first come, first served: three streams interleave slice by slice', async () => {
    const bucket = new TokenBucket(2_000_000, SLICE_BYTES)
    const order: number[] = []
    await Promise.all([0, 1, 2].map(async (id) => {
      for (let i = 0; i < 10; i++) {
        await bucket.take(SLICE_BYTES)
        order.push(id)
      }
    }))
    // after the first round, no taker gets two turns while another waits
    for (let i = 3; i + 3 <= order.length; i += 3) assert.deepEqual(new Set(order.slice(i, i + 3)).size, 3, order.join(''))
  })

  it('an aborted taker leaves the queue; the others are still served', async () => {
    const bucket = new TokenBucket(100_000, SLICE_BYTES)
    await bucket.take(200_000) // two seconds of debt
    const controller = new AbortController()
    const aborted = bucket.take(1000, controller.signal)
    const patient = bucket.take(1000)
    controller.abort()
    await assert.rejects(aborted, (err: Error) => err.name === 'AbortError')
    bucket.close()
    await assert.rejects(patient, (err: Error) => err.name === 'AbortError')
  })
})

describe('federation traffic limit', () => {
  it('without a limit installed, a frame goes out in one send', async () => {
    const { stream, sends } = sink()
    await sendPaced(stream, new Uint8ArrayList(new Uint8Array(100_000)))
    assert.deepEqual(sends, [100_000])
  })

  it('with an upload limit, frames go out in slices at the node-wide rate, shared by every stream', async () => {
    const limit = new TrafficLimit({ upload: new TokenBucket(400_000, burstOf(400_000)) })
    const uninstall = installTrafficLimit(limit)
    try {
      const holders = [sink(), sink(), sink()]
      const started = performance.now()
      // three holders of one put, a 256 KiB frame each: 768 KiB at 400 kB/s
      await Promise.all(holders.map(async ({ stream }) => sendPaced(stream, new Uint8ArrayList(new Uint8Array(256 * 1024)))))
      const seconds = (performance.now() - started) / 1000
      assert.ok(seconds >= 1.7, `took ${seconds} s`)
      for (const { sends } of holders) {
        assert.ok(sends.every((n) => n <= SLICE_BYTES))
        assert.equal(sends.reduce((a, b) => a + b, 0), 256 * 1024)
      }
      assert.equal(limit.sent, 3 * 256 * 1024)
    } finally {
      uninstall()
    }
  })

  it('frames from a peer sending faster than the download limit reach the reader at the limit, whatever the number of streams', async () => {
    const limit = new TrafficLimit({ download: new TokenBucket(400_000, burstOf(400_000)) })
    const uninstall = installTrafficLimit(limit)
    try {
      const started = performance.now()
      // two streams' frames arrive at once (already buffered): 800 kB at 400 kB/s
      await Promise.all([0, 1].map(async () => {
        for (let i = 0; i < 25; i++) await receivePaced(new Uint8Array(16_000))
      }))
      const seconds = (performance.now() - started) / 1000
      assert.ok(seconds >= 1.8, `took ${seconds} s`)
      assert.equal(limit.received, 800_000)
      // one frame far over the burst is handed on once paid for, not at once
      const big = performance.now()
      await receivePaced(new Uint8Array(400_000))
      assert.ok(performance.now() - big >= 900, `a 400 kB frame took ${performance.now() - big} ms`)
    } finally {
      uninstall()
    }
  })

  it('an uninstalled limit no longer applies, and a later one is not removed by an earlier uninstall', async () => {
    const first = new TrafficLimit({ upload: new TokenBucket(100_000, burstOf(100_000)) })
    const uninstallFirst = installTrafficLimit(first)
    const second = new TrafficLimit({ upload: new TokenBucket(100_000, burstOf(100_000)) })
    const uninstallSecond = installTrafficLimit(second)
    uninstallFirst()
    const { stream } = sink()
    await sendPaced(stream, new Uint8ArrayList(new Uint8Array(10)))
    assert.equal(second.sent, 10)
    uninstallSecond()
    await sendPaced(stream, new Uint8ArrayList(new Uint8Array(10)))
    assert.equal(second.sent, 10)
  })
})

describe('rate limit settings', () => {
  it('reads sizes per second and refuses limits below 64 KiB/s', () => {
    assert.equal(parseNodeConfig({ limitUpload: '1MB' }).limitUpload, 1_000_000)
    assert.equal(parseNodeConfig({ limitDownload: '2MiB/s' }).limitDownload, 2 * 2 ** 20)
    assert.equal(parseNodeConfig({}).limitUpload, undefined)
    assert.throws(() => parseNodeConfig({ limitUpload: '10KB' }), (err: Error) => err instanceof ConfigError && /minimum/.test(err.message))
    assert.throws(() => parseNodeConfig({ limitDownload: 'fast' }), ConfigError)
    assert.throws(() => parseNodeConfig({ limitDownload: true }), ConfigError)
  })

  it('quloud start refuses a limit below the minimum before it starts anything (exit 7)', async () => {
    const dir = await tempDir()
    try {
      await initNode(dir.path)
      const result = await runQuloud(['start', '--data-dir', dir.path, '--listen', '/ip4/127.0.0.1/tcp/0', '--limit-upload', '10KB'])
      assert.equal(result.code, 7, result.stderr)
      assert.match(result.stderr, /--limit-upload.*minimum/)
    } finally {
      await dir.cleanup()
    }
  })
})
