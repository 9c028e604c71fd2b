import type { FederationClient } from '../../ports/federation-client.ts'
import { replaceStore } from '../replace-store.ts'

/**
 * A FederationClient whose every store names the owner's lease commitment L
 * (protocol-spec/leases.md, "Lease commitments"), and is otherwise the client it wraps:
 * the one place where a record gets its L, whichever owner workflow stores it (puts,
 * batches, the catalogue, repair). A record keeps the L it was created with, so one
 * session proven under L renews every record of this owner on a holder.
 */
export function leaseStores (inner: FederationClient, leaseCommitment: string): FederationClient {
  return {
    candidates: async (...args) => inner.candidates(...args),
    openStore: async (peerId, options) => {
      const channel = await inner.openStore(peerId, options)
      return replaceStore(channel, async (chunk, o) => channel.store({ ...chunk, leaseCommitment }, o))
    },
    openSession: async (...args) => inner.openSession(...args)
  }
}
