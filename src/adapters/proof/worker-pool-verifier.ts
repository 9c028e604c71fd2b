import { Worker } from 'node:worker_threads'
import { AbortError, ClosedError, throwIfAborted } from '../../errors.ts'
import { BusyError } from '../../domain/protocol/federation-errors.ts'
import { assertFieldElement } from '../../domain/proofs/field-element.ts'
import { assertWellFormedProof } from '../../domain/proofs/groth16-proof.ts'
import { ProofVerificationError } from '../../domain/proofs/proof-errors.ts'
import type { Verifier, VerifyInput, VerifyOptions } from '../../ports/verifier.ts'
import { FairQueue, type FairQueueLimits } from './fair-queue.ts'
import type { VerificationKey } from './verification-key.ts'

/** What the pool sends a worker, and what the worker answers (src/assembly/verifier-worker.ts). */
export interface VerifyRequest { id: number, input: VerifyInput }
export type VerifyReply = { id: number, verdict: boolean } | { id: number, error: { name: string, message: string } }

/** The script of the worker threads: the assembly's verifier-worker.ts. */
export const VERIFIER_WORKER = new URL('../../assembly/verifier-worker.ts', import.meta.url)

export interface WorkerPoolVerifierInit {
  verificationKey: VerificationKey
  /**
   * Worker threads, each verifying one proof at a time: the most CPU proofs can take.
   * One on a two-core NAS leaves a core to everything else, however many proofs arrive.
   */
  workers?: number
  limits?: Partial<FairQueueLimits>
}

/** A proof is ~10 ms of work: 4 waiting per peer is 40 ms of delay it can cause itself. */
export const DEFAULT_VERIFY_LIMITS: FairQueueLimits = { perRequester: 4, perSubnet: 16, total: 256 }

interface Job {
  input: VerifyInput
  resolve: (verdict: boolean) => void
  reject: (err: Error) => void
  cleanup: () => void
}

interface Slot {
  worker: Worker
  job?: Job
  /** The id the running job's reply will carry. */
  id?: number
  /** Set when the thread exited: nothing is posted to it, its replacement takes its place. */
  dead?: boolean
}

/** How long after a failed replacement another is tried. */
const RESPAWN_RETRY_MS = 1000

/**
 * Groth16 verification off the event loop: a few worker threads, each with its own
 * SnarkjsVerifier, fed from a queue served in turn per subnet and per requester
 * (fair-queue.ts). A flood of curve-valid bogus proofs from one peer or one subnet
 * then costs at most the workers' share of the CPU, delays mostly itself, and is
 * refused with BusyError once its lane is full; the event loop, where handshakes and
 * every other request run, never pairs.
 *
 * Input is checked on the calling thread first, so malformed proofs and field
 * elements fail as the port says without a round trip. A worker that dies fails its
 * job with ProofVerificationError and is replaced.
 */
export class WorkerPoolVerifier implements Verifier {
  private readonly init: WorkerPoolVerifierInit
  private readonly queue: FairQueue<Job>
  private readonly slots: Slot[] = []
  private readonly replies = new Map<number, Job>()
  private nextId = 0
  private closed = false

  private constructor (init: WorkerPoolVerifierInit) {
    this.init = init
    this.queue = new FairQueue({ ...DEFAULT_VERIFY_LIMITS, ...init.limits })
  }

  static async create (init: WorkerPoolVerifierInit): Promise<WorkerPoolVerifier> {
    const pool = new WorkerPoolVerifier(init)
    try {
      for (let i = 0; i < Math.max(1, init.workers ?? 1); i++) pool.slots.push(await pool.spawn())
    } catch (err) {
      await pool.close()
      throw err
    }
    return pool
  }

  async verify (input: VerifyInput, options: VerifyOptions = {}): Promise<boolean> {
    if (this.closed) throw new ClosedError('the verifier is closed')
    throwIfAborted(options.signal)
    assertWellFormedProof(input.proof)
    assertFieldElement(input.commitment, 'commitment')
    assertFieldElement(input.context, 'context')
    return new Promise<boolean>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.queue.remove(job)) reject(new AbortError('verification aborted', { cause: options.signal?.reason }))
      }
      const job: Job = { input, resolve, reject, cleanup: () => options.signal?.removeEventListener('abort', onAbort) }
      const crowdedOut = this.queue.push(options.requester, job)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      if (crowdedOut !== undefined) {
        crowdedOut.cleanup()
        crowdedOut.reject(new BusyError('the node has too many proofs from this network waiting to be verified; retry after a pause'))
      }
      this.pump()
    })
  }

  /** Verifications waiting for a worker. */
  get waiting (): number {
    return this.queue.size
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      job.cleanup()
      job.reject(new ClosedError('the verifier closed'))
    }
    await Promise.all(this.slots.map(async (slot) => {
      slot.job?.reject(new ClosedError('the verifier closed'))
      await slot.worker.terminate()
    }))
  }

  private pump (): void {
    for (const slot of this.slots) {
      // a message posted to an exited thread is dropped without an error: its job would never settle
      if (slot.job !== undefined || slot.dead === true) continue
      const job = this.queue.shift()
      if (job === undefined) return
      job.cleanup()
      slot.job = job
      const id = this.nextId++
      slot.id = id
      this.replies.set(id, job)
      slot.worker.postMessage({ id, input: job.input } satisfies VerifyRequest)
    }
  }

  private async spawn (): Promise<Slot> {
    // ffjavascript loads the web-worker package, which in any worker thread acts as a
    // web worker's bootstrap and loads `workerData.mod`: an empty script keeps it quiet
    const workerData = { mod: 'data:,', verificationKey: this.init.verificationKey }
    const worker = new Worker(VERIFIER_WORKER, { workerData })
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve())
      worker.once('error', (err) => reject(new ProofVerificationError('the verifier worker did not start', { cause: err })))
    })
    const slot: Slot = { worker }
    worker.on('message', (reply: VerifyReply) => this.onReply(slot, reply))
    worker.once('exit', () => this.onExit(slot))
    return slot
  }

  private onReply (slot: Slot, reply: VerifyReply): void {
    const job = this.replies.get(reply.id)
    this.replies.delete(reply.id)
    slot.job = undefined
    slot.id = undefined
    if (job !== undefined) {
      if ('verdict' in reply) job.resolve(reply.verdict)
      else job.reject(new ProofVerificationError(`the verifier failed: ${reply.error.name}: ${reply.error.message}`))
    }
    this.pump()
  }

  private onExit (slot: Slot): void {
    if (this.closed) return
    slot.dead = true
    const job = slot.job
    slot.job = undefined
    if (slot.id !== undefined) this.replies.delete(slot.id)
    job?.reject(new ProofVerificationError('the verifier worker stopped'))
    // a replacement, so the pool keeps its size; the failed job is not retried
    this.replace(this.slots.indexOf(slot))
  }

  /** Starts the thread of slot `at` again; jobs wait in the queue meanwhile. */
  private replace (at: number): void {
    void this.spawn().then((fresh) => {
      if (this.closed) { void fresh.worker.terminate(); return }
      this.slots[at] = fresh
      this.pump()
    }, () => {
      if (!this.closed) setTimeout(() => { if (!this.closed) this.replace(at) }, RESPAWN_RETRY_MS).unref()
    })
  }
}
