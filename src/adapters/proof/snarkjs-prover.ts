import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import * as snarkjs from 'snarkjs'
import { ClosedError, throwIfAborted } from '../../errors.ts'
import { assertFieldElement } from '../../domain/proofs/field-element.ts'
import type { Groth16Proof } from '../../domain/proofs/groth16-proof.ts'
import { poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import { CommitmentMismatchError, ProofGenerationError } from '../../domain/proofs/proof-errors.ts'
import type { ProveInput, Prover } from '../../ports/prover.ts'
import { raceAbort } from '../../util/race-abort.ts'
import type { ProofArtefacts } from './artefacts.ts'
import { acquireSharedBn128, type SharedBn128 } from './shared-bn128.ts'
import { groth16ProofFromSnarkjs } from './snarkjs-format.ts'

/** The witness calculator circom generates (circuits/ownership_js/witness_calculator.js). */
interface WitnessCalculator {
  calculateWTNSBin (input: Record<string, bigint>, sanityCheck: number): Promise<Uint8Array>
}
type WitnessCalculatorBuilder = (wasm: Uint8Array) => Promise<WitnessCalculator>

export interface SnarkjsProverInit {
  artefacts: Pick<ProofArtefacts, 'wasmPath' | 'witnessCalculatorPath' | 'zkeyPath'>
}

/**
 * Prover on snarkjs: the witness calculator and the proving key are loaded once, and
 * each proof is `groth16.prove` from memory (no files, no recompiling the wasm), on
 * the shared multi-threaded curve.
 */
export class SnarkjsProver implements Prover {
  private readonly witnesses: WitnessCalculator
  private readonly zkey: Uint8Array
  private readonly shared: SharedBn128
  private readonly inFlight = new Set<Promise<unknown>>()
  // The witness calculator keeps its state in one wasm instance, and its async API
  // yields between computing a witness and reading it out: concurrent calls would
  // read each other's witnesses. They run one at a time (~1 ms each).
  private witnessQueue: Promise<unknown> = Promise.resolve()
  private closed = false

  private constructor (witnesses: WitnessCalculator, zkey: Uint8Array, shared: SharedBn128) {
    this.witnesses = witnesses
    this.zkey = zkey
    this.shared = shared
  }

  static async create (init: SnarkjsProverInit): Promise<SnarkjsProver> {
    const { wasmPath, witnessCalculatorPath, zkeyPath } = init.artefacts
    let witnesses: WitnessCalculator
    let zkey: Uint8Array
    try {
      const [wasm, zkeyBytes] = await Promise.all([readFile(wasmPath), readFile(zkeyPath)])
      const builder = createRequire(import.meta.url)(witnessCalculatorPath) as WitnessCalculatorBuilder
      witnesses = await builder(wasm)
      zkey = zkeyBytes
    } catch (err) {
      throw new ProofGenerationError('cannot load the witness calculator or proving key', { cause: err })
    }
    return new SnarkjsProver(witnesses, zkey, await acquireSharedBn128())
  }

  async prove (input: ProveInput, options: AbortOptions = {}): Promise<Groth16Proof> {
    if (this.closed) throw new ClosedError('the prover is closed')
    throwIfAborted(options.signal)
    const { secret, commitment, context } = input
    assertFieldElement(secret, 'secret')
    assertFieldElement(commitment, 'commitment')
    assertFieldElement(context, 'context')
    if (poseidonCommitment(secret) !== commitment) {
      throw new CommitmentMismatchError('Poseidon(secret) does not equal the commitment')
    }
    const work = this.run(secret, commitment, context)
    this.inFlight.add(work)
    work.then(() => this.inFlight.delete(work), () => this.inFlight.delete(work))
    return raceAbort(work, options.signal)
  }

  private async run (secret: bigint, commitment: bigint, context: bigint): Promise<Groth16Proof> {
    let proof: Groth16Proof
    let publicSignals: string[]
    try {
      const witness = this.witnessQueue.then(async () => this.witnesses.calculateWTNSBin({ secret, commitment, context }, 0))
      this.witnessQueue = witness.catch(() => {})
      const result = await snarkjs.groth16.prove(this.zkey, await witness)
      proof = groth16ProofFromSnarkjs(result.proof)
      publicSignals = result.publicSignals
    } catch (err) {
      throw new ProofGenerationError('generating the ownership proof failed', { cause: err })
    }
    // The circuit lays its public inputs out as [commitment, context]; anything else
    // means the artefacts are not the ownership circuit's.
    if (publicSignals.length !== 2 || publicSignals[0] !== commitment.toString() || publicSignals[1] !== context.toString()) {
      throw new ProofGenerationError('the proof was made for other public inputs than requested')
    }
    return proof
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    // Terminating the curve under a running proof would leave it pending forever.
    await Promise.allSettled([...this.inFlight])
    await this.shared.release()
  }
}
