// Ownership proofs: proving and verifying cost, first call (fresh process, cold curve)
// and steady state. Run: bash scripts/node.sh bench/run.ts proofs
import { cpus } from 'node:os'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { deriveProofContext } from '../src/domain/proofs/proof-context.ts'
import { SnarkjsReferenceVerifier } from '../test/helpers/snarkjs-reference-verifier.ts'

const PROVE_RUNS = 30
const VERIFY_RUNS = 300
const REFERENCE_RUNS = 30

const context = (i: number) => deriveProofContext({
  challenge: new Uint8Array(32).fill(i & 0xff),
  storageNode: new Uint8Array(38).fill(1),
  requester: new Uint8Array(38).fill(2),
  action: 'read',
  expiresAt: Date.now() + 60_000
})

async function time<T> (fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now()
  const result = await fn()
  return [performance.now() - start, result]
}

function stats (samples: number[]): { median: number, mean: number, p95: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { median: at(0.5), mean: samples.reduce((s, x) => s + x, 0) / samples.length, p95: at(0.95) }
}

const rows: string[][] = []
const ms = (x: number) => x.toFixed(1)
function row (what: string, first: number | undefined, samples: number[], note = ''): void {
  const s = stats(samples)
  rows.push([what, first === undefined ? '' : ms(first), ms(s.median), ms(s.mean), ms(s.p95), (1000 / s.mean).toFixed(0), note])
}

const [loadMs, artefacts] = await time(async () => loadProofArtefacts())
const [proverCreateMs, prover] = await time(async () => SnarkjsProver.create({ artefacts }))
const [verifierCreateMs, verifier] = await time(async () => SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey }))

try {
  const inputs = Array.from({ length: PROVE_RUNS + 1 }, (_, i) => {
    const secret = 1000n + BigInt(i)
    return { secret, commitment: poseidonCommitment(secret), context: context(i) }
  })
  const [firstProve, firstProof] = await time(async () => prover.prove(inputs[0]!))
  const proofs = [firstProof]
  const proveSamples: number[] = []
  for (const input of inputs.slice(1)) {
    const [t, proof] = await time(async () => prover.prove(input))
    proveSamples.push(t)
    proofs.push(proof)
  }
  row('prove (SnarkjsProver)', firstProve, proveSamples, `workers on ${cpus().length} cores`)

  const check = (i: number) => ({ proof: proofs[i % proofs.length]!, commitment: inputs[i % proofs.length]!.commitment, context: inputs[i % proofs.length]!.context })
  const [firstVerify, ok] = await time(async () => verifier.verify(check(0)))
  if (!ok) throw new Error('a valid proof did not verify')
  const verifySamples: number[] = []
  for (let i = 1; i <= VERIFY_RUNS; i++) {
    const [t, valid] = await time(async () => verifier.verify(check(i)))
    if (!valid) throw new Error('a valid proof did not verify')
    verifySamples.push(t)
  }
  row('verify (SnarkjsVerifier)', firstVerify, verifySamples, 'single thread: per core')

  const rejectSamples: number[] = []
  for (let i = 0; i < 50; i++) {
    const [t, valid] = await time(async () => verifier.verify({ ...check(i), context: check(i).context ^ 1n }))
    if (valid) throw new Error('a proof verified for the wrong context')
    rejectSamples.push(t)
  }
  row('verify, wrong context', undefined, rejectSamples, 'same work as a valid one')

  const reference = await SnarkjsReferenceVerifier.create(artefacts.verificationKey)
  try {
    const [firstRef] = await time(async () => reference.verify(check(0)))
    const refSamples: number[] = []
    for (let i = 1; i <= REFERENCE_RUNS; i++) refSamples.push((await time(async () => reference.verify(check(i))))[0])
    row('snarkjs groth16.verify (reference)', firstRef, refSamples, 'after the prover warmed the curve')
  } finally {
    await reference.close()
  }
} finally {
  await prover.close()
  await verifier.close()
}

console.log(`start-up: load + check artefacts ${ms(loadMs)} ms, prover create ${ms(proverCreateMs)} ms, verifier create ${ms(verifierCreateMs)} ms`)
console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; prove n=${PROVE_RUNS}, verify n=${VERIFY_RUNS}\n`)
const header = ['operation', 'first ms', 'median ms', 'mean ms', 'p95 ms', 'ops/s', 'note']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (cells: string[]) => '| ' + cells.map((c, i) => i === 0 || i === 6 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(' | ') + ' |'
console.log(line(header))
console.log('|' + widths.map((w, i) => (i === 0 || i === 6 ? ':' : '-') + '-'.repeat(w) + (i === 0 || i === 6 ? '-' : ':')).join('|') + '|')
for (const r of rows) console.log(line(r))
