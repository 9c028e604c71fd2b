import type { FederationClient, ProvenSession, StoreChannel } from '../ports/federation-client.ts'
import { replaceStore } from './replace-store.ts'

/** Told the id of a peer that just answered a request with success. */
export type TrafficObserver = (peerId: string) => void

/**
 * A FederationClient that reports every exchange a peer completed (a channel or proven
 * session opened, a chunk acknowledged with a receipt, a chunk or listing returned, a
 * delete done) to `observed`, and is otherwise the client it wraps. Liveness takes
 * these as proof of life: during a large put a peer's pings queue behind the data on
 * the same connection while its receipts keep coming. Failures report nothing.
 */
export function observeTraffic (inner: FederationClient, observed: TrafficObserver): FederationClient {
  const after = async <T>(peerId: string, work: Promise<T>): Promise<T> => {
    const result = await work
    observed(peerId)
    return result
  }
  return {
    candidates: async (...args) => inner.candidates(...args),
    openStore: async (peerId, ...rest) => observeChannel(peerId, await after(peerId, inner.openStore(peerId, ...rest)), after),
    openSession: async (peerId, ...rest) => observeSession(peerId, await after(peerId, inner.openSession(peerId, ...rest)), after)
  }
}

type After = <T>(peerId: string, work: Promise<T>) => Promise<T>

function observeChannel (peerId: string, channel: StoreChannel, after: After): StoreChannel {
  return replaceStore(channel, async (...args) => after(peerId, channel.store(...args)))
}

function observeSession (peerId: string, session: ProvenSession, after: After): ProvenSession {
  return {
    get: async (...args) => after(peerId, session.get(...args)),
    list: async (...args) => after(peerId, session.list(...args)),
    ...(session.audit === undefined ? {} : { audit: async (...args: Parameters<NonNullable<ProvenSession['audit']>>) => after(peerId, session.audit!(...args)) }),
    delete: async (...args) => after(peerId, session.delete(...args)),
    ...(session.renew === undefined ? {} : { renew: async (...args: Parameters<NonNullable<ProvenSession['renew']>>) => after(peerId, session.renew!(...args)) }),
    close: async (...args) => session.close(...args)
  }
}
