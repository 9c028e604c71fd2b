// Writes test/vectors/key-derivation.json, the published key-derivation test vectors.
//
//   bash scripts/node.sh scripts/make-key-vectors.ts
//
// Run once; the JSON is committed and test/key-derivation.test.ts checks the
// implementation against it. This script deliberately does not import
// src/domain/crypto/key-derivation.ts: it follows protocol-spec/key-derivation.md with
// node:crypto's HKDF (OpenSSL) while the implementation uses @noble/hashes, so the
// vectors check one independent reading of the spec against the other. The inputs are
// fixed, so running it again must reproduce the file byte for byte.
import { createHash, hkdfSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { entropyToMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fixed = (text: string, length: number): Uint8Array => createHash('sha256').update(text).digest().subarray(0, length)
const sequence = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i)

function info (label: string, context: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(label, 'ascii'), Buffer.from([0]), context])
}

function okm (root: Uint8Array, infoBytes: Uint8Array, length: number): Uint8Array {
  // salt: empty, which RFC 5869 (and OpenSSL) treat as HashLen zero bytes
  return new Uint8Array(hkdfSync('sha256', root, new Uint8Array(0), infoBytes, length))
}

type Inputs = Record<string, string>

function keyCase (fn: string, label: string, root: Uint8Array, inputs: Inputs, context: Uint8Array = new Uint8Array(0)) {
  const i = info(label, context)
  return { function: fn, label, ...inputs, info: hex(i), output: hex(okm(root, i, 32)) }
}

function scalarCase (fn: string, label: string, root: Uint8Array, inputs: Inputs) {
  for (let attempt = 0; attempt < 256; attempt++) {
    const i = info(label, Buffer.from([attempt]))
    const bytes = okm(root, i, 64)
    const scalar = BigInt('0x' + hex(bytes)) % R
    if (scalar !== 0n) return { function: fn, label, ...inputs, attempt, info: hex(i), okm: hex(bytes), output: scalar.toString(10) }
  }
  throw new Error('unreachable: no non-zero scalar')
}

const masters = [new Uint8Array(32), sequence(32), new Uint8Array(32).fill(0xff), fixed('quloud test vector: master 4', 32)]
const fileIds = [new Uint8Array(16), sequence(16), new Uint8Array(16).fill(0xff), fixed('quloud test vector: file 4', 16)]
const nodeSecrets = [new Uint8Array(32), sequence(32), fixed('quloud test vector: node 3', 32)]

const cases: object[] = []
for (const master of masters) {
  cases.push(keyCase('catalogueKey', 'quloud/v1/catalogue-key', master, { master: hex(master) }))
  cases.push(scalarCase('catalogueSecret', 'quloud/v1/catalogue-secret', master, { master: hex(master) }))
  for (const fileId of fileIds) {
    // the file root F, then everything per file from F alone (context empty)
    const root = okm(master, info('quloud/v1/file-root', fileId), 32)
    cases.push(keyCase('fileRoot', 'quloud/v1/file-root', master, { master: hex(master), fileId: hex(fileId) }, fileId))
    const fromRoot = { master: hex(master), fileId: hex(fileId), fileRoot: hex(root) }
    cases.push(keyCase('fileContentKey', 'quloud/v1/file/content-key', root, fromRoot))
    cases.push(scalarCase('fileRetrievalSecret', 'quloud/v1/file/retrieval-secret', root, fromRoot))
    cases.push(keyCase('manifestKey', 'quloud/v1/file/manifest-key', root, fromRoot))
    cases.push(scalarCase('manifestSecret', 'quloud/v1/file/manifest-secret', root, fromRoot))
  }
}
for (const nodeSecret of nodeSecrets) {
  cases.push(keyCase('nodeAtRestKey', 'quloud/v1/node-at-rest-key', nodeSecret, { nodeSecret: hex(nodeSecret) }))
}

const vectors = {
  description: 'Quloud key derivation test vectors; see protocol-spec/key-derivation.md. Bytes are lowercase hex, scalars decimal.',
  hkdf: 'HKDF-SHA256 (RFC 5869), salt empty (= 32 zero bytes), info = ASCII(label) || 0x00 || context',
  bn254ScalarFieldOrder: R.toString(10),
  recoveryPhrases: masters.map((master) => ({ master: hex(master), phrase: entropyToMnemonic(master, wordlist) })),
  cases
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors', 'key-derivation.json')
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n')
console.log(`wrote ${cases.length} cases to ${out}`)
