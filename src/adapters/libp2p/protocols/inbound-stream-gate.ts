import type { Connection, Libp2p, Startable, Stream } from '@libp2p/interface'
import { BusyError } from '../../../domain/protocol/federation-errors.ts'
import type { StreamResources } from './stream-resources.ts'

/** The muxer libp2p's Connection keeps (`muxer`, not in its types): it emits each stream the remote side opens. */
interface StreamEvents {
  addEventListener (type: 'stream', listener: (event: CustomEvent<Stream>) => void): void
  removeEventListener (type: 'stream', listener: (event: CustomEvent<Stream>) => void): void
}

/** One error for every reset: a flood of them would otherwise make as many stack traces. */
const OVER_RATE = new BusyError('the new streams of your subnet are over their rate; retry later')

export interface InboundStreamGateInit {
  host: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getConnections'>
  resources: StreamResources
}

/**
 * Counts every stream a peer opens, where the muxer makes it (StreamResources.count),
 * so that every protocol meets the strangers' rate of new streams, not only the ones
 * whose handlers ask the budget, and resets a stream over the rate there. Before, identify, ping, the DHT, gossip and the v1 ids
 * were never counted: a stranger opening ping streams in a loop was read as fast as it
 * sent, on the cores its honest peers need.
 *
 * libp2p 3 offers no hook between the muxer and protocol negotiation (its per-protocol
 * middleware comes after negotiation, and only for protocols named in advance), so the
 * gate listens to each connection's muxer beside libp2p's own listener, which was added
 * first and has only begun the negotiation when this one runs.
 */
export class InboundStreamGate implements Startable {
  private readonly init: InboundStreamGateInit
  private readonly watched = new Map<StreamEvents, (event: CustomEvent<Stream>) => void>()

  constructor (init: InboundStreamGateInit) {
    this.init = init
  }

  start (): void {
    this.init.host.addEventListener('connection:open', this.onOpen)
    for (const connection of this.init.host.getConnections()) this.watch(connection)
  }

  stop (): void {
    this.init.host.removeEventListener('connection:open', this.onOpen)
    for (const [muxer, listener] of this.watched) muxer.removeEventListener('stream', listener)
    this.watched.clear()
  }

  private readonly onOpen = (event: CustomEvent<Connection>): void => {
    this.watch(event.detail)
  }

  private watch (connection: Connection): void {
    const muxer = (connection as unknown as { muxer?: StreamEvents }).muxer
    if (muxer === undefined || this.watched.has(muxer)) return
    const listener = (event: CustomEvent<Stream>): void => {
      // reset before negotiation: its peer, waiting for the protocol's answer, has sent
      // little on it, and nothing of it reaches a handler
      if (!this.init.resources.count(event.detail, connection)) event.detail.abort(OVER_RATE)
    }
    muxer.addEventListener('stream', listener)
    this.watched.set(muxer, listener)
    ;(connection as unknown as Pick<EventTarget, 'addEventListener'>).addEventListener('close', () => {
      muxer.removeEventListener('stream', listener)
      this.watched.delete(muxer)
    }, { once: true })
  }
}
