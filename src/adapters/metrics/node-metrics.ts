import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { VERSION } from '../../version.ts'

/** What a gauge reads at each scrape; the labels of one sample each. */
export type Sampler = () => Promise<Array<{ labels?: Record<string, string>, value: number }>>

/**
 * The daemon's Prometheus metrics (docs/api.md lists them): one registry per node, so
 * two nodes in one process (tests, benches) keep apart. Counters of events are
 * incremented by the wrappers around the ports (metered-*.ts); figures a component
 * already keeps (stored bytes, peers, announcement counts) are read at scrape time,
 * so nothing is counted twice. Later counters (repair, audit, budgets) register here
 * with `counter` and `sampled`, nowhere else.
 */
export class NodeMetrics {
  private readonly registry = new Registry()
  readonly chunkBytes: Counter<'direction'>
  readonly chunkOperations: Counter<'operation'>
  readonly proofs: Counter<'outcome' | 'reason'>
  readonly requests: Counter<'protocol' | 'outcome'>
  readonly refusals: Counter<'protocol' | 'code'>

  constructor () {
    collectDefaultMetrics({ register: this.registry, prefix: 'quloud_' })
    new Gauge({ name: 'quloud_build_info', help: 'Always 1; the labels name the running version', labelNames: ['version'], registers: [this.registry] })
      .set({ version: VERSION }, 1)
    this.chunkBytes = this.counter('quloud_chunk_bytes_total', 'Bytes of chunks written for peers (stored) and read to answer them (served), as the store\'s callers saw them', ['direction'])
    this.chunkOperations = this.counter('quloud_chunk_operations_total', 'Chunk store operations by kind', ['operation'])
    this.proofs = this.counter('quloud_proofs_total', 'Ownership proofs from peers: verified, or refused with the reason (invalid, or the error code that stopped the check)', ['outcome', 'reason'])
    this.requests = this.counter('quloud_requests_total', 'Inbound streams of the Quloud protocols by protocol id and how they ended: ok, or the refusal\'s error code', ['protocol', 'outcome'])
    this.refusals = this.counter('quloud_refusals_total', 'Refusals answered inside a Quloud protocol stream that goes on (a store over quota among many, a chunk not found), by protocol id and error code', ['protocol', 'code'])
    // the series a dashboard plots exist from the first scrape, at 0
    for (const direction of ['stored', 'served']) this.chunkBytes.inc({ direction }, 0)
    this.proofs.inc({ outcome: 'verified', reason: '' }, 0)
  }

  /** A counter in this node's registry. */
  counter<L extends string> (name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] })
  }

  /**
   * A gauge whose samples `sample` reads at each scrape. A total kept by a component
   * (announcements accepted since start) is exposed this way too: it only grows for the
   * life of the process, as a counter does; its name ends in `_total` to say so.
   */
  sampled (name: string, help: string, labelNames: readonly string[], sample: Sampler): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect () {
        this.reset()
        for (const { labels, value } of await sample()) {
          if (labels === undefined) this.set(value)
          else this.set(labels, value)
        }
      }
    })
  }

  /** The text a Prometheus server scrapes. */
  async text (): Promise<string> {
    return this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
