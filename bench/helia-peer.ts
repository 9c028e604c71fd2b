// Helia (IPFS in JS, the same libp2p stack) as the peer to beat: a closed node on
// 127.0.0.1 (no delegated routing, gateways, DHT or discovery) with bitswap over TCP,
// Noise and Yamux, memory block and data stores. Run as a process with a file path
// it adds the file (1 MiB raw leaves) and prints {peerId, addrs, cid} as one line.
import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { unixfs } from '@helia/unixfs'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createHeliaLight } from 'helia'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { CID } from 'multiformats/cid'

const MIB = 1024 * 1024

export async function startHelia () {
  // Helia's own Noise, with its default crypto: the peer as its users run it
  const helia = withBitswap(withLibp2pLight(createHeliaLight({ routers: [] }), {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  }))
  await helia.start()
  return helia
}

/** Fetches `cid` from the node at `addrs` into a fresh node's memory; resolves to the bytes received. */
export async function heliaFetch (addrs: string[], cid: string): Promise<number> {
  const helia = await startHelia()
  try {
    await helia.libp2p.dial(multiaddr(addrs[0]!))
    let bytes = 0
    for await (const part of unixfs(helia).cat(CID.parse(cid))) bytes += part.byteLength
    return bytes
  } finally {
    await helia.stop()
  }
}

if (process.argv[1]?.endsWith('helia-peer.ts')) {
  const helia = await startHelia()
  const cid = await unixfs(helia).addByteStream(createReadStream(process.argv[2]!, { highWaterMark: MIB }), {
    chunker: fixedSize({ chunkSize: MIB }), rawLeaves: true
  })
  process.stdout.write(JSON.stringify({ peerId: helia.libp2p.peerId.toString(), addrs: helia.libp2p.getMultiaddrs().map(String), cid: cid.toString() }) + '\n')
  await once(process, 'SIGTERM')
  await helia.stop()
  process.exit(0)
}
