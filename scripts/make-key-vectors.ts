// Writes test/vectors/key-derivation.json, the published key-derivation test vectors.
//
//   bash scripts/node.sh scripts/make-key-vectors.ts
//
// Run once; the JSON is committed and test/key-derivation.test.ts checks the
// implementation against it. This script deliberately imports nothing from src/: it
// follows protocol-spec/key-derivation.md with node:crypto alone (HKDF and SHA-256 from
// OpenSSL, Ed25519 keys from a raw seed through a PKCS#8 wrapper) while the
// implementation uses @noble/hashes and @noble/curves, so the vectors check one
// independent reading of the spec against the other. The inputs are fixed, so running
// it again must reproduce the file byte for byte.
import { createHash, createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { entropyToMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n
/** PKCS#8 PrivateKeyInfo of an Ed25519 key (RFC 8410), up to the 32-byte seed that follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fixed = (text: string, length: number): Uint8Array => createHash('sha256').update(text).digest().subarray(0, length)
const sequence = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i)
const EMPTY = new Uint8Array(0)

function info (label: string, context: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(label, 'ascii'), Buffer.from([0]), context])
}

function okm (root: Uint8Array, infoBytes: Uint8Array, length: number): Uint8Array {
  // salt: empty, which RFC 5869 (and OpenSSL) treat as HashLen zero bytes
  return new Uint8Array(hkdfSync('sha256', root, EMPTY, infoBytes, length))
}

/** The Ed25519 public key of a raw 32-byte seed (RFC 8032 §5.1.5), by OpenSSL. */
function ed25519PublicKey (seed: Uint8Array): Uint8Array {
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(spki.byteLength - 32))
}

/** SHA-256(ASCII("quloud/v2/writer-pin") || 0x00 || public key), first 16 bytes. */
function writerPin (publicKey: Uint8Array): Uint8Array {
  return createHash('sha256').update('quloud/v2/writer-pin', 'ascii').update(Buffer.from([0])).update(publicKey).digest().subarray(0, 16)
}

type Inputs = Record<string, string>

function bytesCase (fn: string, label: string, root: Uint8Array, inputs: Inputs, length: number, context: Uint8Array = EMPTY) {
  const i = info(label, context)
  return { function: fn, label, ...inputs, info: hex(i), output: hex(okm(root, i, length)) }
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

/** An Ed25519 seed case, with the public key (and, for a file's write key, the writer pin) it gives. */
function seedCase (fn: string, label: string, root: Uint8Array, inputs: Inputs, pinned: boolean) {
  const c = bytesCase(fn, label, root, inputs, 32)
  const publicKey = ed25519PublicKey(Buffer.from(c.output, 'hex'))
  return pinned ? { ...c, publicKey: hex(publicKey), writerPin: hex(writerPin(publicKey)) } : { ...c, publicKey: hex(publicKey) }
}

const masters = [new Uint8Array(32), sequence(32), new Uint8Array(32).fill(0xff), fixed('quloud test vector: master 4', 32)]
const fileIds = [new Uint8Array(16), sequence(16), new Uint8Array(16).fill(0xff), fixed('quloud test vector: file 4', 16)]
const nodeSecrets = [new Uint8Array(32), sequence(32), fixed('quloud test vector: node 3', 32)]

const cases: object[] = []
for (const master of masters) {
  const owner = { master: hex(master) }
  cases.push(bytesCase('catalogueKey', 'quloud/v2/catalogue-key', master, owner, 32))
  cases.push(scalarCase('catalogueSecret', 'quloud/v2/catalogue-secret', master, owner))
  cases.push(scalarCase('catalogueDeleteSecret', 'quloud/v2/catalogue-delete-secret', master, owner))
  cases.push(seedCase('catalogueWriteKeySeed', 'quloud/v2/catalogue-write-key', master, owner, false))
  for (const fileId of fileIds) {
    // the file root F (owner only), the three capabilities from F, then the read keys from R alone
    const file = okm(master, info('quloud/v2/file-root', fileId), 32)
    const read = okm(file, info('quloud/v2/file/read-root', EMPTY), 16)
    cases.push(bytesCase('fileRoot', 'quloud/v2/file-root', master, { ...owner, fileId: hex(fileId) }, 32, fileId))
    const fromFile = { ...owner, fileId: hex(fileId), fileRoot: hex(file) }
    cases.push(bytesCase('readRoot', 'quloud/v2/file/read-root', file, fromFile, 16))
    cases.push(seedCase('writeKeySeed', 'quloud/v2/file/write-key', file, fromFile, true))
    cases.push(scalarCase('deleteSecret', 'quloud/v2/file/delete-secret', file, fromFile))
    const fromRead = { ...fromFile, readRoot: hex(read) }
    cases.push(bytesCase('contentKey', 'quloud/v2/read/content-key', read, fromRead, 32))
    cases.push(scalarCase('retrievalSecret', 'quloud/v2/read/retrieval-secret', read, fromRead))
    cases.push(bytesCase('manifestKey', 'quloud/v2/read/manifest-key', read, fromRead, 32))
    cases.push(scalarCase('manifestSecret', 'quloud/v2/read/manifest-secret', read, fromRead))
  }
}
for (const nodeSecret of nodeSecrets) {
  // the v1 label on purpose: a node's at-rest key did not change with protocol v2
  cases.push(bytesCase('nodeAtRestKey', 'quloud/v1/node-at-rest-key', nodeSecret, { nodeSecret: hex(nodeSecret) }, 32))
}

// batches (protocol v3 labels): the small files of one put under one batch root B
const batchIds = [new Uint8Array(16), Uint8Array.from(Array.from({ length: 16 }, (_, i) => 0xa0 + i))]
for (const master of masters.slice(0, 2)) {
  for (const batchId of batchIds) {
    const owner = { master: hex(master), batchId: hex(batchId) }
    const batch = okm(master, info('quloud/v3/batch-root', batchId), 32)
    cases.push(bytesCase('batchRoot', 'quloud/v3/batch-root', master, owner, 32, batchId))
    const fromBatch = { ...owner, batchRoot: hex(batch) }
    cases.push(scalarCase('batchReadSecret', 'quloud/v3/batch/read-secret', batch, fromBatch))
    cases.push(scalarCase('batchDeleteSecret', 'quloud/v3/batch/delete-secret', batch, fromBatch))
  }
}

// the owner-wide lease secret (protocol v3 label, leases.md): one per master secret
for (const master of masters) cases.push(scalarCase('leaseSecret', 'quloud/v3/lease-secret', master, { master: hex(master) }))

const vectors = {
  description: 'Quloud key derivation test vectors, protocol v2; see protocol-spec/key-derivation.md. Bytes are lowercase hex, scalars decimal.',
  hkdf: 'HKDF-SHA256 (RFC 5869), salt empty (= 32 zero bytes), info = ASCII(label) || 0x00 || context',
  ed25519: 'publicKey: RFC 8032 Ed25519 public key of the 32-byte seed `output`; writerPin = SHA-256(ASCII("quloud/v2/writer-pin") || 0x00 || publicKey)[0..16]',
  bn254ScalarFieldOrder: R.toString(10),
  recoveryPhrases: masters.map((master) => ({ master: hex(master), phrase: entropyToMnemonic(master, wordlist) })),
  cases
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors', 'key-derivation.json')
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n')
console.log(`wrote ${cases.length} cases to ${out}`)
