import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import * as QRCode from 'qrcode'
import { newFileId } from '../src/domain/formats/file-id.ts'
import { fileRoot } from '../src/domain/crypto/key-derivation.ts'
import { generateMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { decodeShareCode, encodeShareCode, isValidShareCode, SHARE_CODE_SYMBOLS } from '../src/domain/formats/share-code.ts'
import { shareCodeQr } from '../src/cli/share-code-qr.ts'

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const seq = (length: number, from = 0): Uint8Array => Uint8Array.from({ length }, (_, i) => from + i)
const rejected = (error: unknown): boolean => error instanceof Error && ['InvalidShareCodeError', 'ShareCodeChecksumError'].includes(error.name)
/** What a reader makes of one character: upper case, Crockford's aliases. */
const normal = (c: string): string => ({ I: '1', L: '1', O: '0' } as Record<string, string>)[c.toUpperCase()] ?? c.toUpperCase()

/** The spec's construction, written independently: one big integer, 5 bits at a time. */
function referenceCode (fileId: Uint8Array, root: Uint8Array): string {
  const payload = Buffer.concat([Buffer.from([1]), fileId, root])
  const checksum = createHash('sha256').update(Buffer.concat([Buffer.from('quloud/v1/share-code-checksum\0'), payload])).digest().subarray(0, 4)
  let n = BigInt('0x' + Buffer.concat([payload, checksum]).toString('hex')) << 1n // one zero padding bit
  let symbols = ''
  for (let i = 0; i < 85; i++) { symbols = ALPHABET[Number(n & 31n)] + symbols; n >>= 5n }
  return 'Q1-' + symbols.match(/.{5}/g)!.join('-')
}

function randomShare (): { fileId: Uint8Array, fileRoot: Uint8Array } {
  const fileId = newFileId()
  return { fileId, fileRoot: fileRoot(generateMasterSecret(), fileId) }
}

describe('share code', () => {
  it('follows the published format', () => {
    const code = encodeShareCode({ fileId: seq(16), fileRoot: seq(32, 0x20) })
    assert.equal(code, referenceCode(seq(16), seq(32, 0x20)))
    assert.match(code, /^Q1(-[0-9A-HJKMNP-TV-Z]{5}){17}$/)
    assert.equal(code, 'Q1-04002-0G30G-2GC1R-81450-P30D1-R7J08-924CJ-2A9H7-50MJM-ASC5M-Q2YC1-H68SK-8D9P6-WW3JE-HV7GY-KWFRP-X0A6E')
    for (let i = 0; i < 20; i++) {
      const share = randomShare()
      assert.equal(encodeShareCode(share), referenceCode(share.fileId, share.fileRoot))
    }
  })

  it('round-trips, forgiving case, hyphens, spaces, the prefix and Crockford look-alikes', () => {
    const share = randomShare()
    const code = encodeShareCode(share)
    const bare = code.slice(3).replaceAll('-', '')
    for (const text of [code, code.toLowerCase(), bare, ` ${code.replaceAll('-', ' ')} `, code.replaceAll('-', ''), `q1 ${bare.toLowerCase()}`,
      code.replaceAll('1', 'I'), code.replaceAll('1', 'l'), code.replace(/(?<=-.*)1/g, 'l').replace(/(?<=-.*)0/g, 'O'), code.replaceAll('-', '\t-\n')]) {
      const decoded = decodeShareCode(text)
      assert.deepEqual(decoded.fileId, share.fileId, text)
      assert.deepEqual(decoded.fileRoot, share.fileRoot, text)
    }
  })

  it('detects every single-character change and every swap of two neighbours', () => {
    for (let round = 0; round < 4; round++) {
      const code = round === 0 ? encodeShareCode({ fileId: seq(16), fileRoot: seq(32, 0x20) }) : encodeShareCode(randomShare())
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
      assert.ok(checked > 2500)
    }
  })

  it('names the failure: typo, length, characters, prefix, padding, version', () => {
    const code = encodeShareCode(randomShare())
    const last = code.at(-1)!
    const typo = code.slice(0, -2) + (code.at(-2) === 'A' ? 'B' : 'A') + last
    assert.throws(() => decodeShareCode(typo), { name: 'ShareCodeChecksumError', code: 'share-code-checksum' })
    for (const text of ['', 'Q1', code.slice(0, -1), code + 'A', code.slice(0, -1) + 'U', 'X9' + code.slice(2), 42 as unknown as string]) {
      assert.throws(() => decodeShareCode(text), { name: 'InvalidShareCodeError', code: 'invalid-share-code' }, String(text))
    }
    // the padding bit: the last symbol's lowest bit must be zero
    const odd = code.slice(0, -1) + ALPHABET[ALPHABET.indexOf(last) ^ 1]
    assert.throws(() => decodeShareCode(odd), { name: 'InvalidShareCodeError', message: /last symbol/ })
    // a well-formed code of a version this implementation does not know
    const payload = Buffer.concat([Buffer.from([2]), seq(16), seq(32)])
    const sum = createHash('sha256').update(Buffer.concat([Buffer.from('quloud/v1/share-code-checksum\0'), payload])).digest().subarray(0, 4)
    let n = BigInt('0x' + Buffer.concat([payload, sum]).toString('hex')) << 1n
    let symbols = ''
    for (let i = 0; i < SHARE_CODE_SYMBOLS; i++) { symbols = ALPHABET[Number(n & 31n)] + symbols; n >>= 5n }
    assert.throws(() => decodeShareCode('Q1' + symbols), { name: 'InvalidShareCodeError', message: /version 2/ })
    assert.ok(!isValidShareCode(odd))
    assert.ok(isValidShareCode(code))
  })

  it('never echoes the code in an error', () => {
    const code = encodeShareCode(randomShare())
    for (const text of [code.slice(0, -2) + 'ZZ', code.slice(0, -1), code.replace('-', '-U')]) {
      try {
        decodeShareCode(text)
        assert.fail('decoded')
      } catch (err) {
        for (const group of code.split('-').slice(2)) assert.ok(!(err as Error).message.toUpperCase().includes(group), (err as Error).message)
      }
    }
  })

  it('refuses bad inputs when encoding', () => {
    assert.throws(() => encodeShareCode({ fileId: new Uint8Array(15), fileRoot: new Uint8Array(32) }), { name: 'InvalidInputError' })
    assert.throws(() => encodeShareCode({ fileId: new Uint8Array(16), fileRoot: new Uint8Array(31) }), { name: 'InvalidInputError' })
  })

  it('renders a small terminal QR code of the canonical text, in alphanumeric mode', async () => {
    const code = encodeShareCode(randomShare())
    const symbol = QRCode.create(code, { errorCorrectionLevel: 'M' })
    assert.deepEqual(symbol.segments.map((s) => s.mode.id), ['Alphanumeric'])
    assert.equal(symbol.version, 5)
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
