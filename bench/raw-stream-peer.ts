// A bare libp2p host (TCP, Noise, Yamux) with one sink protocol, for comparing the
// transport's own settings: Noise's default crypto or cachedKeyNoiseCrypto, and Yamux
// stream options. Run as a process with the settings as a JSON argument, it prints
// {peerId, addrs} as one line and answers each sink stream with its byte count.
import { once } from 'node:events'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { cachedKeyNoiseCrypto } from '../src/adapters/libp2p/cached-key-noise-crypto.ts'

export const SINK = '/quloud-bench/transport-sink/1.0.0'

export interface TransportSettings {
  crypto: 'default' | 'cached-key'
  streamOptions?: NonNullable<Parameters<typeof yamux>[0]>['streamOptions']
}

export async function startTransportHost (settings: TransportSettings) {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise(settings.crypto === 'cached-key' ? { crypto: cachedKeyNoiseCrypto() } : {})],
    streamMuxers: [yamux({ streamOptions: settings.streamOptions })]
  })
}

if (process.argv[1]?.endsWith('raw-stream-peer.ts')) {
  const host = await startTransportHost(JSON.parse(process.argv[2]!))
  await host.handle(SINK, async (stream) => {
    let total = 0
    for await (const part of stream) total += part.byteLength
    stream.send(new TextEncoder().encode(String(total)))
    await stream.close()
  })
  process.stdout.write(JSON.stringify({ peerId: host.peerId.toString(), addrs: host.getMultiaddrs().map(String) }) + '\n')
  await once(process, 'SIGTERM')
  await host.stop()
  process.exit(0)
}
