import { QuloudError } from '../../errors.ts'
import type { Verifier, VerifyInput, VerifyOptions } from '../../ports/verifier.ts'
import type { NodeMetrics } from './node-metrics.ts'

/**
 * Counts the proofs a Verifier judges: verified, refused as invalid, or refused with the
 * code of the error that stopped the check (a full queue is `busy`, a proof that does
 * not parse `malformed-proof`). A non-Quloud error counts as `internal`.
 */
export class MeteredVerifier implements Verifier {
  private readonly inner: Verifier
  private readonly metrics: NodeMetrics

  constructor (inner: Verifier, metrics: NodeMetrics) {
    this.inner = inner
    this.metrics = metrics
  }

  async verify (input: VerifyInput, options?: VerifyOptions): Promise<boolean> {
    let valid: boolean
    try {
      valid = await this.inner.verify(input, options)
    } catch (err) {
      this.metrics.proofs.inc({ outcome: 'refused', reason: err instanceof QuloudError ? err.code : 'internal' })
      throw err
    }
    this.metrics.proofs.inc(valid ? { outcome: 'verified', reason: '' } : { outcome: 'refused', reason: 'invalid' })
    return valid
  }

  async close (): Promise<void> {
    await this.inner.close()
  }
}
