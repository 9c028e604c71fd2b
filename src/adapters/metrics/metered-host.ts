import type { Libp2p, StreamHandler } from '@libp2p/interface'
/** The one method wrapped; the other members pass through. */
type ProtocolHost = Pick<Libp2p, 'handle'>

/**
 * The host as protocol handlers see it, with every inbound stream of a handler it
 * registers counted by protocol id before the handler runs. Everything else is the
 * host itself.
 */
export function meteredHost<H extends ProtocolHost> (host: H, count: (protocol: string) => void): H {
  const handle: ProtocolHost['handle'] = async (protocol, handler, options) => {
    const counted: StreamHandler = (stream, connection) => {
      count(stream.protocol ?? (Array.isArray(protocol) ? protocol[0] ?? 'unknown' : protocol))
      return handler(stream, connection)
    }
    return host.handle(protocol, counted, options)
  }
  return new Proxy(host, {
    get (target, property) {
      if (property === 'handle') return handle
      const value = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}
