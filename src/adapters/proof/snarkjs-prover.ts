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
  /**
   * The prover closes itself when this fires (node shutdown). A prover made on demand
   * while the node stops would otherwise have its close registered after the stop ran
   * and keep the curve's workers, and the process, alive. If it fires before `create`
   * returns, `create` releases what it took and rejects with ClosedError.
   */
  lifetime?: AbortSignal
}

/**
 * Prover on snarkjs: the witness calculator and the proving key are loaded once, and
 * each proof is `groth16.prove` from memory (no files, no recompiling the wasm), on
 * the shared multi-threaded curve. The curve (~0.6 s and ~30 MB of worker threads) is
 * acquired at the first proof, so a daemon that starts its owner side with it does not
 * pay for proving before anyone asks for a proof.
 */
export class SnarkjsProver implements Prover {
  private readonly witnesses: WitnessCalculator
  private readonly zkey: Uint8Array
  private shared: Promise<SharedBn128> | undefined
  private readonly inFlight = new Set<Promise<unknown>>()
  // The witness calculator keeps its state in one wasm instance, and its async API
  // yields between computing a witness and reading it out: concurrent calls would
  // read each other's witnesses. They run one at a time (~1 ms each).
  private witnessQueue: Promise<unknown> = Promise.resolve()
  private closed = false
  private closing: Promise<void> | undefined
  private detachLifetime = (): void => {}

  private constructor (witnesses: WitnessCalculator, zkey: Uint8Array) {
    this.witnesses = witnesses
    this.zkey = zkey
  }

  static async create (init: SnarkjsProverInit): Promise<SnarkjsProver> {
    const { lifetime } = init
    if (lifetime?.aborted === true) throw new ClosedError('the prover was stopped before it started')
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
    const prover = new SnarkjsProver(witnesses, zkey)
    if (lifetime === undefined) return prover
    if (lifetime.aborted) {
      await prover.close()
      throw new ClosedError('the prover was stopped while it started')
    }
    // nobody awaits a close the signal started; a failing worker termination has no one to tell
    const onEnd = (): void => { prover.close().catch(() => {}) }
    lifetime.addEventListener('abort', onEnd, { once: true })
    prover.detachLifetime = () => lifetime.removeEventListener('abort', onEnd)
    return prover
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
      // held before snarkjs' first call, so snarkjs reuses it rather than building an orphan
      this.shared ??= acquireSharedBn128().catch((err) => { this.shared = undefined; throw err })
      await this.shared
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

  /** Every call, first or not, resolves only once the proofs in flight are done and the curve released. */
  async close (): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown (): Promise<void> {
    this.closed = true
    this.detachLifetime()
    // Terminating the curve under a running proof would leave it pending forever.
    await Promise.allSettled([...this.inFlight])
    await (await this.shared?.catch(() => undefined))?.release()
  }
}
