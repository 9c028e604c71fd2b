import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import * as QRCode from 'qrcode'
import { newFileId } from '../src/domain/formats/file-id.ts'
import { generateMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { ownerFileCapabilities, type ReadCapability } from '../src/domain/capabilities/file-capabilities.ts'
import { decodeShareCode, encodeShareCode, isValidShareCode, SHARE_CODE_SYMBOLS } from '../src/domain/formats/share-code.ts'
import { shareCodeQr } from '../src/cli/share-code-qr.ts'

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const seq = (length: number, from = 0): Uint8Array => Uint8Array.from({ length }, (_, i) => from + i)
const rejected = (error: unknown): boolean => error instanceof Error && ['InvalidShareCodeError', 'ShareCodeChecksumError'].includes(error.name)
/** What a reader makes of one character: upper case, Crockford's aliases. */
const normal = (c: string): string => ({ I: '1', L: '1', O: '0' } as Record<string, string>)[c.toUpperCase()] ?? c.toUpperCase()
const V1_MESSAGE = /protocol v1, which this version no longer reads; ask the owner to share the file again/

/** Crockford base32 of `bytes` as one big integer, zero-padded on the right to whole symbols. */
function base32 (bytes: Uint8Array): string {
  const symbols = Math.ceil(bytes.byteLength * 8 / 5)
  let n = BigInt('0x' + Buffer.from(bytes).toString('hex')) << BigInt(symbols * 5 - bytes.byteLength * 8)
  let out = ''
  for (let i = 0; i < symbols; i++) { out = ALPHABET[Number(n & 31n)] + out; n >>= 5n }
  return out
}

/** The spec's construction of a code with any version byte, written independently of share-code.ts. */
function referenceBytes (version: number, readRoot: Uint8Array, pin: Uint8Array): Uint8Array {
  const payload = Buffer.concat([Buffer.from([version]), readRoot, pin])
  const checksum = createHash('sha256').update(Buffer.concat([Buffer.from('quloud/v2/share-code-checksum\0'), payload])).digest().subarray(0, 4)
  return Buffer.concat([payload, checksum])
}

function referenceCode (readRoot: Uint8Array, pin: Uint8Array): string {
  return 'Q2-' + base32(referenceBytes(2, readRoot, pin)).match(/.{5}/g)!.join('-')
}

function randomShare (): ReadCapability {
  return ownerFileCapabilities(generateMasterSecret(), newFileId()).read
}

/** A version 1 code as v1 printed it: Q1, file id (16) || F (32) || checksum under the v1 label. */
function v1Code (): string {
  const payload = Buffer.concat([Buffer.from([1]), randomBytes(16), randomBytes(32)])
  const checksum = createHash('sha256').update(Buffer.concat([Buffer.from('quloud/v1/share-code-checksum\0'), payload])).digest().subarray(0, 4)
  return 'Q1-' + base32(Buffer.concat([payload, checksum])).match(/.{5}/g)!.join('-')
}

describe('share code', () => {
  it('follows the published format: Q2, 60 symbols in 12 groups, 74 characters', () => {
    const code = encodeShareCode({ readRoot: seq(16), writerPin: seq(16, 0x20) })
    assert.equal(code, referenceCode(seq(16), seq(16, 0x20)))
    assert.match(code, /^Q2(-[0-9A-HJKMNP-TV-Z]{5}){12}$/)
    assert.equal(code.length, 74)
    assert.equal(SHARE_CODE_SYMBOLS, 60)
    assert.equal(code, 'Q2-08002-0G30G-2GC1R-81450-P30D1-R7J08-924CJ-2A9H7-50MJM-ASC5M-Q2ZTA-JGTDG')
    for (let i = 0; i < 20; i++) {
      const share = randomShare()
      assert.equal(encodeShareCode(share), referenceCode(share.readRoot, share.writerPin))
    }
  })

  it('carries the read capability only: R and the writer pin, never the file root, the write key or the delete secret', () => {
    const caps = ownerFileCapabilities(generateMasterSecret(), newFileId())
    const code = encodeShareCode(caps.read)
    const decoded = decodeShareCode(code)
    assert.deepEqual(Object.keys(decoded).sort(), ['readRoot', 'writerPin'])
    assert.deepEqual(decoded.readRoot, caps.read.readRoot)
    assert.deepEqual(decoded.writerPin, caps.read.writerPin)
    const payload = Buffer.from(referenceBytes(2, caps.read.readRoot, caps.read.writerPin))
    for (const secret of [caps.write.seed, caps.write.publicKey, Buffer.from(caps.deleteSecret.toString(16).padStart(64, '0'), 'hex')]) {
      assert.ok(!payload.includes(Buffer.from(secret).subarray(0, 8)))
    }
  })

  it('round-trips, forgiving case, hyphens, spaces, the prefix and Crockford look-alikes', () => {
    const share = randomShare()
    const code = encodeShareCode(share)
    const bare = code.slice(3).replaceAll('-', '')
    for (const text of [code, code.toLowerCase(), bare, ` ${code.replaceAll('-', ' ')} `, code.replaceAll('-', ''), `q2 ${bare.toLowerCase()}`,
      code.replaceAll('1', 'I'), code.replaceAll('1', 'l'), code.replace(/(?<=-.*)1/g, 'l').replace(/(?<=-.*)0/g, 'O'), code.replaceAll('-', '\t-\n')]) {
      const decoded = decodeShareCode(text)
      assert.deepEqual(decoded.readRoot, share.readRoot, text)
      assert.deepEqual(decoded.writerPin, share.writerPin, text)
    }
  })

  it('detects every single-character change and every swap of two neighbours', () => {
    for (let round = 0; round < 4; round++) {
      const code = round === 0 ? encodeShareCode({ readRoot: seq(16), writerPin: seq(16, 0x20) }) : encodeShareCode(randomShare())
      let checked = 0
      for (let at = 0; at < code.length; at++) {
        for (const c of ALPHABET + 'U*#é') {
          if (normal(c) === normal(code[at]!)) continue
          const changed = code.slice(0, at) + c + code.slice(at + 1)
          assert.throws(() => decodeShareCode(changed), rejected, `${changed} (position ${at})`)
          checked++
        }
      }
      const compact = code.replaceAll('-', '')
      for (let at = 0; at + 1 < compact.length; at++) {
        if (compact[at] === compact[at + 1]) continue
        const swapped = compact.slice(0, at) + compact[at + 1] + compact[at] + compact.slice(at + 2)
        assert.throws(() => decodeShareCode(swapped), rejected, `swap at ${at}`)
        checked++
      }
      assert.ok(checked > 2000, `${checked} changes checked`)
    }
  })

  it('names the failure: typo, length, characters, prefix, padding, version', () => {
    const code = encodeShareCode(randomShare())
    const last = code.at(-1)!
    const typo = code.slice(0, -2) + (code.at(-2) === 'A' ? 'B' : 'A') + last
    assert.throws(() => decodeShareCode(typo), { name: 'ShareCodeChecksumError', code: 'share-code-checksum' })
    for (const text of ['', 'Q2', code.slice(0, -1), code + 'A', code.slice(0, -1) + 'U', 'X9' + code.slice(2), 'Q1' + code.slice(2), 42 as unknown as string]) {
      assert.throws(() => decodeShareCode(text), { name: 'InvalidShareCodeError', code: 'invalid-share-code' }, String(text))
    }
    // four padding bits: the last symbol is 0 or G; any of the low four bits set is refused
    assert.match(last, /^[0G]$/)
    for (const bit of [1, 2, 4, 8]) {
      const padded = code.slice(0, -1) + ALPHABET[ALPHABET.indexOf(last) ^ bit]
      assert.throws(() => decodeShareCode(padded), { name: 'InvalidShareCodeError', message: /last symbol/ })
      assert.ok(!isValidShareCode(padded))
    }
    // a well-formed, correctly summed code of a version this implementation does not know
    for (const version of [1, 3, 255]) {
      const symbols = base32(referenceBytes(version, seq(16), seq(16)))
      assert.throws(() => decodeShareCode('Q2' + symbols), { name: 'InvalidShareCodeError', message: new RegExp(`version ${version} `) })
    }
    assert.ok(isValidShareCode(code))
  })

  it('recognises a version 1 code and says it is no longer read, with or without its prefix', () => {
    const published = 'Q1-04002-0G30G-2GC1R-81450-P30D1-R7J08-924CJ-2A9H7-50MJM-ASC5M-Q2YC1-H68SK-8D9P6-WW3JE-HV7GY-KWFRP-X0A6E'
    for (const text of [published, published.toLowerCase(), published.slice(3), published.replaceAll('-', ' '), v1Code(), v1Code().slice(3)]) {
      assert.throws(() => decodeShareCode(text), { name: 'InvalidShareCodeError', message: V1_MESSAGE }, text)
    }
    // only the shape of v1 is recognised, not any 87 characters: another prefix is just not a code
    assert.throws(() => decodeShareCode('X1' + published.slice(2)), (err: Error) => err.name === 'InvalidShareCodeError' && !V1_MESSAGE.test(err.message))
  })

  it('never echoes the code in an error', () => {
    const code = encodeShareCode(randomShare())
    for (const text of [code.slice(0, -2) + 'ZZ', code.slice(0, -1), code.replace('-', '-U'), code.slice(0, -1) + '1']) {
      try {
        decodeShareCode(text)
        assert.fail('decoded')
      } catch (err) {
        for (const group of code.split('-').slice(2)) assert.ok(!(err as Error).message.toUpperCase().includes(group), (err as Error).message)
      }
    }
  })

  it('refuses bad inputs when encoding', () => {
    assert.throws(() => encodeShareCode({ readRoot: new Uint8Array(15), writerPin: new Uint8Array(16) }), { name: 'InvalidInputError' })
    assert.throws(() => encodeShareCode({ readRoot: new Uint8Array(32), writerPin: new Uint8Array(16) }), { name: 'InvalidInputError' }, 'a file root is not a read root')
    assert.throws(() => encodeShareCode({ readRoot: new Uint8Array(16), writerPin: new Uint8Array(32) }), { name: 'InvalidInputError' }, 'a public key is not a pin')
    assert.throws(() => encodeShareCode(undefined as unknown as ReadCapability), { name: 'InvalidInputError' })
  })

  it('renders a small terminal QR code of the canonical text: alphanumeric mode, version 4 (33 modules) at level M', async () => {
    const code = encodeShareCode(randomShare())
    const symbol = QRCode.create(code, { errorCorrectionLevel: 'M' })
    assert.deepEqual(symbol.segments.map((s) => s.mode.id), ['Alphanumeric'])
    assert.equal(symbol.version, 4)
    assert.equal(symbol.modules.size, 33)
    const ansi = await shareCodeQr(code)
    assert.ok(ansi.includes('\x1b[47m') && ansi.includes('▀'))
    assert.equal(await shareCodeQr(code.toLowerCase().replaceAll('-', ' ')), ansi, 'the same picture for any spelling of the code')
    const plain = await shareCodeQr(code, { ansi: false })
    assert.match(plain, /^[ █▀▄\n]+$/u)
    const rows = plain.split('\n').filter((row) => row.trim() !== '')
    assert.equal(rows.length, Math.ceil(symbol.modules.size / 2), 'two modules per text row')
    await assert.rejects(shareCodeQr('not a code'), { name: 'InvalidShareCodeError' })
  })
})
