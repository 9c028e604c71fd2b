import { ReceiptLedger } from '../adapters/data-dir/receipt-ledger.ts'
import { TrustStore } from '../adapters/data-dir/trust-store.ts'
import { Allowances } from '../app/admission/allowances.ts'
import { peerQuotaOf, strangersCapacityOf, strangersPerSubnetOf, type NodeConfig } from '../domain/config/node-config.ts'
import { defineError } from '../errors.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { StorageSide } from './storage-side.ts'

/** A store was admitted before the allowances knew the storage side's counts: an assembly bug. */
export const AdmissionNotAttachedError = defineError('AdmissionNotAttachedError', 'admission-not-attached')

export interface AdmissionInit {
  /** The data directory's `trust.json`. */
  trustPath: string
  /** The data directory's `receipts/`. */
  receiptsPath: string
  config: Pick<NodeConfig, 'capacity' | 'peerQuota' | 'newcomerAllowance' | 'strangersCapacity' | 'strangersPerSubnet'>
  /** Holders this node's audits caught: no reciprocal credit (Allowances `caught`). */
  caught?: (peer: string) => boolean
}

/** Who may store how much here: the trust list, our receipts, and the allowances over both. */
export interface Admission {
  trust: TrustStore
  receipts: ReceiptLedger
  /** For the storage side; refuses until `attach` named the store it admits into. */
  allowanceOf (peer: string, options?: AbortOptions): Promise<number>
  /** For the storage side: the share of a stranger's subnet (Allowances.subnetShareOf). */
  subnetShareOf (peer: string, subnet: string): number | undefined
  /** Set once the storage side is open: its counts are what the allowances weigh. */
  attach (side: Pick<StorageSide, 'metadata' | 'storage'>): Allowances
  close (): Promise<void>
}

/**
 * Opens the trust list and the receipt ledger. The storage side needs `allowanceOf`
 * to open, and the allowances need the storage side's counts: `attach` closes the loop.
 * A damaged trust list stops the opening (TrustFileError), before anything is served.
 */
export async function openAdmission (init: AdmissionInit): Promise<Admission> {
  const trust = await TrustStore.open(init.trustPath)
  const receipts = await ReceiptLedger.open(init.receiptsPath)
  let allowances: Allowances | undefined
  return {
    trust,
    receipts,
    allowanceOf: async (peer, options) => {
      if (allowances === undefined) throw new AdmissionNotAttachedError('admission is not attached to a storage side yet')
      return allowances.allowanceOf(peer, options)
    },
    subnetShareOf: (peer, subnet) => {
      if (allowances === undefined) throw new AdmissionNotAttachedError('admission is not attached to a storage side yet')
      return allowances.subnetShareOf(peer, subnet)
    },
    attach: ({ metadata, storage }) => {
      allowances = new Allowances({
        trust,
        receipts,
        bytesStoredBy: async (peer, o) => metadata.bytesStoredBy(peer, o),
        chargedBytes: async (o) => metadata.totalCharged(o),
        inFlight: (peer) => storage.inFlight(peer),
        newcomerAllowance: init.config.newcomerAllowance,
        strangersCapacity: strangersCapacityOf(init.config),
        strangersPerSubnet: strangersPerSubnetOf(init.config),
        peerCap: peerQuotaOf(init.config),
        ...(init.caught === undefined ? {} : { caught: init.caught })
      })
      return allowances
    },
    close: async () => receipts.close()
  }
}
