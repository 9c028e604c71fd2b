import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Libp2p, Stream } from '@libp2p/interface'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import {
  HANDOFF_PROTOCOL, HandoffRequestCodec, HandoffResponseCodec, MAX_HANDOFF_FRAME_BYTES, REFUSAL_CODES
} from '../src/adapters/libp2p/protocols/handoff-messages.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { OfferRefusedError, ShortCodeMismatchError, ShortCodeNotFoundError } from '../src/app/handoff/handoff-errors.ts'
import { startHandoff, type Handoff } from '../src/assembly/handoff.ts'
import { startBareHost } from '../src/assembly/host.ts'
import { spake2Start } from '../src/domain/crypto/spake2.ts'
import { InvalidShortCodeError, parseShortCode, shortCodeScalar } from '../src/domain/formats/short-code.ts'
import { BusyError } from '../src/domain/protocol/federation-errors.ts'
import { AbortError, InvalidInputError } from '../src/errors.ts'
import { rejectsWith } from './helpers/rejects-with.ts'

/** A code with one word changed (to the next word of the list), same nameplate. */
function wrongWords (code: string): string {
  const parsed = parseShortCode(code)
  return `${parsed.nameplate}-${parsed.words[0]}-${parsed.words[1]}-${parsed.words[2] === 'zoo' ? 'abandon' : 'zoo'}`
}

/** The receiver's host, with every byte its handoff streams receive recorded. */
function recording (host: Libp2p): { host: Libp2p, received: Uint8Array[] } {
  const received: Uint8Array[] = []
  const proxy = new Proxy(host, {
    get (target, key, receiver) {
      if (key !== 'dialProtocol') return Reflect.get(target, key, receiver)
      return async (...args: Parameters<Libp2p['dialProtocol']>): Promise<Stream> => {
        const stream = await target.dialProtocol(...args)
        stream.addEventListener('message', (event) => { received.push(Uint8Array.from(event.data.subarray())) })
        return stream
      }
    }
  })
  return { host: proxy, received }
}

function contains (haystack: Uint8Array[], needle: Uint8Array): boolean {
  const all = Buffer.concat(haystack)
  return all.indexOf(Buffer.from(needle)) !== -1
}

describe('short-code handoff over /quloud/handoff/1.0.0 (two nodes on 127.0.0.1)', () => {
  let sharerHost: Libp2p
  let receiverHost: Libp2p
  let sharer: Handoff
  let receiver: Handoff
  let received: Uint8Array[]

  before(async () => {
    sharerHost = await startBareHost()
    receiverHost = await startBareHost()
    await receiverHost.peerStore.merge(sharerHost.peerId, { multiaddrs: sharerHost.getMultiaddrs() })
    sharer = await startHandoff({ host: sharerHost, loggers: silentLoggerFactory, attemptsPerMinute: 1000 })
    const recorded = recording(receiverHost)
    received = recorded.received
    receiver = await startHandoff({ host: recorded.host, loggers: silentLoggerFactory })
  })

  after(async () => {
    await receiver?.stop()
    await sharer?.stop()
    await receiverHost?.stop()
    await sharerHost?.stop()
  })

  it('the receiver obtains the capability bytes by short code, once', async () => {
    const capability = randomBytes(80)
    const { code, expiresAt } = sharer.service.offer(capability)
    assert.match(code, /^[0-9]{1,3}(-[a-z]+){3}$/)
    assert.ok(expiresAt > Date.now() + 9 * 60_000 && expiresAt <= Date.now() + 10 * 60_000, 'valid for 10 minutes')
    received.length = 0
    const got = await receiver.service.redeem(code.toUpperCase().replaceAll('-', ' '))
    assert.deepEqual(Buffer.from(got), capability)
    assert.ok(!contains(received, capability), 'the capability crossed the wire sealed, never in the clear')
    await rejectsWith(receiver.service.redeem(code), ShortCodeNotFoundError)
  })

  it('a wrong code fails with a typed error, and no capability byte reaches the receiver', async () => {
    const capability = randomBytes(80)
    const { code } = sharer.service.offer(capability)
    received.length = 0
    await rejectsWith(receiver.service.redeem(wrongWords(code)), ShortCodeMismatchError)
    assert.ok(!contains(received, capability))
    // what arrived is the Answer frame alone (pB and cB, ~105 bytes): no sealed capability
    const bytes = received.reduce((n, b) => n + b.byteLength, 0)
    assert.ok(bytes > 0 && bytes < 120, `received ${bytes} bytes`)
    // the right code still works: one wrong attempt does not burn the offer
    assert.deepEqual(Buffer.from(await receiver.service.redeem(code)), capability)
  })

  it('after k wrong attempts the offer is burned: the right code then fails too', async () => {
    const { code } = sharer.service.offer(randomBytes(32))
    for (let i = 0; i < 3; i++) await rejectsWith(receiver.service.redeem(wrongWords(code)), ShortCodeMismatchError)
    await rejectsWith(receiver.service.redeem(code), ShortCodeNotFoundError)
  })

  it('a withdrawn offer is gone; offers are bounded in validity and size', async () => {
    const { code } = sharer.service.offer(randomBytes(32))
    assert.equal(sharer.service.withdraw(code), true)
    assert.equal(sharer.service.withdraw(code), false)
    await rejectsWith(receiver.service.redeem(code), ShortCodeNotFoundError)
    assert.throws(() => sharer.service.offer(randomBytes(32), { ttlMs: 61 * 60_000 }), InvalidInputError)
    assert.throws(() => sharer.service.offer(randomBytes(32), { ttlMs: 0 }), InvalidInputError)
    assert.throws(() => sharer.service.offer(new Uint8Array(0)), InvalidInputError)
    assert.throws(() => sharer.service.offer(randomBytes(2049)), OfferRefusedError)
  })

  it('an expired code fails', async () => {
    const { code } = sharer.service.offer(randomBytes(32), { ttlMs: 150 })
    await new Promise((resolve) => setTimeout(resolve, 250))
    await rejectsWith(receiver.service.redeem(code), ShortCodeNotFoundError)
  })

  it('a code that is no code fails before anything is sent', async () => {
    received.length = 0
    await rejectsWith(receiver.service.redeem('7-orbit-ladder'), InvalidShortCodeError)
    assert.equal(received.length, 0)
  })

  describe('a hostile receiver speaking the protocol by hand', () => {
    async function open (): Promise<FramedStream> {
      const stream = await receiverHost.dialProtocol(sharerHost.peerId, HANDOFF_PROTOCOL)
      return new FramedStream(stream, { maxFrameBytes: MAX_HANDOFF_FRAME_BYTES, idleTimeoutMs: 5000 })
    }

    it('an invalid share is refused as MALFORMED without spending an attempt', async () => {
      const capability = randomBytes(32)
      const { code } = sharer.service.offer(capability)
      const { nameplate } = parseShortCode(code)
      for (let i = 0; i < 4; i++) {
        const framed = await open()
        await framed.write(HandoffRequestCodec, { hello: { nameplate, share: new Uint8Array(65) } })
        const response = await framed.read(HandoffResponseCodec)
        assert.ok(response !== undefined && 'refusal' in response)
        assert.equal(response.refusal.code, REFUSAL_CODES.MALFORMED)
        assert.equal(await framed.read(HandoffResponseCodec), undefined, 'the refusal closes the stream')
        await framed.close()
      }
      assert.deepEqual(Buffer.from(await receiver.service.redeem(code)), capability)
    })

    it('a frame over 4,096 bytes is refused as TOO_LARGE before it is read', async () => {
      const stream = await receiverHost.dialProtocol(sharerHost.peerId, HANDOFF_PROTOCOL)
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_HANDOFF_FRAME_BYTES, idleTimeoutMs: 5000 })
      stream.send(Uint8Array.of(0x89, 0x27, 1, 2, 3)) // a length prefix of 5,001, then a few bytes
      const response = await framed.read(HandoffResponseCodec)
      assert.ok(response !== undefined && 'refusal' in response)
      assert.equal(response.refusal.code, REFUSAL_CODES.TOO_LARGE)
    })

    it('a confirm before hello is refused as MALFORMED', async () => {
      const framed = await open()
      await framed.write(HandoffRequestCodec, { confirm: { confirmation: new Uint8Array(32) } })
      const response = await framed.read(HandoffResponseCodec)
      assert.ok(response !== undefined && 'refusal' in response)
      assert.equal(response.refusal.code, REFUSAL_CODES.MALFORMED)
    })

    it('a guessed cA is refused as CONFIRMATION_FAILED, and walking away after pB spends the attempt too', async () => {
      const { code } = sharer.service.offer(randomBytes(32))
      const parsed = parseShortCode(code)
      const guess = { ...parsed, words: [parsed.words[0]!, parsed.words[1]!, parsed.words[2] === 'zoo' ? 'abandon' : 'zoo'] }
      const hello = { hello: { nameplate: parsed.nameplate, share: spake2Start('A', shortCodeScalar(guess)).share } }
      // attempt 1: a confirmation the attacker made up
      let framed = await open()
      await framed.write(HandoffRequestCodec, hello)
      const answer = await framed.read(HandoffResponseCodec)
      assert.ok(answer !== undefined && 'answer' in answer && answer.answer.share.byteLength === 65)
      await framed.write(HandoffRequestCodec, { confirm: { confirmation: randomBytes(32) } })
      const refusal = await framed.read(HandoffResponseCodec)
      assert.ok(refusal !== undefined && 'refusal' in refusal)
      assert.equal(refusal.refusal.code, REFUSAL_CODES.CONFIRMATION_FAILED)
      // attempts 2 and 3: hello, read pB, leave
      for (let i = 0; i < 2; i++) {
        framed = await open()
        await framed.write(HandoffRequestCodec, hello)
        assert.ok('answer' in (await framed.read(HandoffResponseCodec))!)
        await framed.close()
        // the sharer settles the attempt when it sees our side closed
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      await rejectsWith(receiver.service.redeem(code), ShortCodeNotFoundError)
    })
  })

  it('redeem stops when its signal fires', async () => {
    const { code } = sharer.service.offer(randomBytes(32))
    await rejectsWith(receiver.service.redeem(code, { signal: AbortSignal.abort() }), AbortError)
    const controller = new AbortController()
    const pending = receiver.service.redeem(code, { signal: controller.signal })
    controller.abort()
    await assert.rejects(pending)
  })

  it('a receiver that stalls after pB is dropped, and its attempt stays spent', async () => {
    const host = await startBareHost()
    const slow = await startHandoff({ host, loggers: silentLoggerFactory, idleTimeoutMs: 1000, attempts: 1 })
    try {
      await receiverHost.peerStore.merge(host.peerId, { multiaddrs: host.getMultiaddrs() })
      const { code } = slow.service.offer(randomBytes(32))
      const parsed = parseShortCode(code)
      // the share first (scrypt takes a while on a loaded machine): the sharer's idle timer starts with the stream
      const share = spake2Start('A', shortCodeScalar(parsed)).share
      const stream = await receiverHost.dialProtocol(host.peerId, HANDOFF_PROTOCOL)
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_HANDOFF_FRAME_BYTES, idleTimeoutMs: 5000 })
      await framed.write(HandoffRequestCodec, { hello: { nameplate: parsed.nameplate, share } })
      assert.ok('answer' in (await framed.read(HandoffResponseCodec))!)
      // say nothing more: the sharer gives up after its idle timeout and ends the stream
      await assert.rejects(async () => { for (;;) if (await framed.read(HandoffResponseCodec) === undefined) throw new Error('closed') })
      await rejectsWith(receiver.service.redeem(code), ShortCodeNotFoundError)
    } finally {
      await slow.stop()
      await host.stop()
    }
  })

  it('two nodes offering the same number: the receiver gets past the one whose words differ', async () => {
    const twins = await Promise.all([startBareHost(), startBareHost()])
    const offerers = await Promise.all(twins.map(async (host) => startHandoff({ host, loggers: silentLoggerFactory, nameplates: () => 4 })))
    const asker = await startBareHost()
    const askerHandoff = await startHandoff({ host: asker, loggers: silentLoggerFactory, candidates: async () => twins.map((h) => h.peerId.toString()) })
    try {
      for (const host of twins) await asker.peerStore.merge(host.peerId, { multiaddrs: host.getMultiaddrs() })
      const capabilities = [randomBytes(32), randomBytes(32)]
      const codes = offerers.map((o, i) => o.service.offer(capabilities[i]!).code)
      assert.ok(codes.every((c) => c.startsWith('5-')) && codes[0] !== codes[1])
      // the second node's offer is asked for too (its confirmation fails there) and still completes at the first
      assert.deepEqual(Buffer.from(await askerHandoff.service.redeem(codes[1]!)), capabilities[1])
      assert.deepEqual(Buffer.from(await askerHandoff.service.redeem(codes[0]!)), capabilities[0], 'the other offer survived a wrong attempt')
    } finally {
      await askerHandoff.stop()
      await asker.stop()
      for (const o of offerers) await o.stop()
      for (const h of twins) await h.stop()
    }
  })

  it('a peer over its attempt rate is refused with BUSY', async () => {
    const strictHost = await startBareHost()
    const strict = await startHandoff({ host: strictHost, loggers: silentLoggerFactory, attemptsPerMinute: 2 })
    try {
      const asker = await startBareHost()
      const askerHandoff = await startHandoff({ host: asker, loggers: silentLoggerFactory, candidates: async () => [strictHost.peerId.toString()] })
      try {
        await asker.peerStore.merge(strictHost.peerId, { multiaddrs: strictHost.getMultiaddrs() })
        const capability = randomBytes(32)
        const { code } = strict.service.offer(capability)
        const missing = `${parseShortCode(code).nameplate === 999 ? 998 : 999}-abandon-abandon-zoo`
        await rejectsWith(askerHandoff.service.redeem(missing), ShortCodeNotFoundError)
        await rejectsWith(askerHandoff.service.redeem(missing), ShortCodeNotFoundError)
        await rejectsWith(askerHandoff.service.redeem(missing), BusyError)
        // refused before the offer is looked at: the right code is refused too, and the offer keeps its attempts
        await rejectsWith(askerHandoff.service.redeem(code), BusyError)
        await receiverHost.peerStore.merge(strictHost.peerId, { multiaddrs: strictHost.getMultiaddrs() })
        assert.deepEqual(Buffer.from(await receiver.service.redeem(code)), capability, 'another peer, within its rate, still gets it')
      } finally {
        await askerHandoff.stop()
        await asker.stop()
      }
    } finally {
      await strict.stop()
      await strictHost.stop()
    }
  })
})
