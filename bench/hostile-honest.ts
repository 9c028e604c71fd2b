// The honest peer of the hostile bench, in the bench's own process: a bare host with a
// prover, reaching the victim only through the storage protocols, as any member would.
import { randomBytes } from 'node:crypto'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { startClientHost } from '../test/helpers/storage-node.ts'
import { median } from './raw-stream-transfer.ts'

const MIB = 1024 * 1024
const WINDOW = 8

export interface HonestFigures {
  /** Median ms of fresh proven sessions on the peer's connection (hello → challenge → proof → ready). */
  handshakeMs: number
  putMbps: number
  getMbps: number
  /** Median ms for a new peer to connect (TCP, Noise, Yamux), of those that did within 30 s. */
  connectMs: number
  /** New peers that could not connect within 30 s. */
  connectFailures: number
}

export class HonestPeer {
  readonly host: Libp2p
  private readonly prover: SnarkjsProver
  private readonly peer: PeerId
  private readonly addrs: Multiaddr[]
  private readonly secret = 7654321n
  private readonly ids: string[] = []

  private constructor (host: Libp2p, prover: SnarkjsProver, peer: PeerId, addrs: Multiaddr[]) {
    this.host = host
    this.prover = prover
    this.peer = peer
    this.addrs = addrs
  }

  static async start (target: { peerId: string, addrs: string[] }): Promise<HonestPeer> {
    const [host, prover] = await Promise.all([startClientHost(), SnarkjsProver.create({ artefacts: await loadProofArtefacts() })])
    const peer = peerIdFromString(target.peerId)
    const addrs = target.addrs.map((a) => multiaddr(a))
    await host.peerStore.merge(peer, { multiaddrs: addrs })
    return new HonestPeer(host, prover, peer, addrs)
  }

  /** Stores `mib` MiB the later gets read back (untimed). */
  async prestore (mib: number): Promise<void> {
    await this.put(mib, this.ids)
  }

  /**
   * One put or get takes a fifth of a second here, where one collection or one burst of
   * the attacker's moves it by half: each throughput is the median of `rounds` of them.
   */
  async measure (handshakes: number, putMib: number, rounds = 1): Promise<HonestFigures> {
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a whole number >= 1, not ${rounds}`)
    // handshakes first, as before the rounds: early in the attack window
    const handshakeMs = await this.handshakeMs(handshakes)
    const putMbps = await medianOf(rounds, async () => this.putMbps(putMib))
    const getMbps = await medianOf(rounds, async () => this.getMbps())
    return { handshakeMs, putMbps, getMbps, ...await this.connects(5) }
  }

  async stop (): Promise<void> {
    await this.prover.close()
    await this.host.stop()
  }

  private async handshakeMs (n: number): Promise<number> {
    const samples: number[] = []
    for (let i = 0; i < n; i++) {
      const s = BigInt(1_000_000 + Math.floor(Math.random() * 1e9))
      const started = performance.now()
      const session = await SessionClient.open({ host: this.host, peer: this.peer, action: 'read', secret: s, commitment: poseidonCommitment(s), prover: this.prover })
      samples.push(performance.now() - started)
      await session.close()
    }
    return median(samples)
  }

  private async putMbps (mib: number): Promise<number> {
    const started = performance.now()
    await this.put(mib, [])
    return mib * MIB / 1e6 / ((performance.now() - started) / 1000)
  }

  private async put (mib: number, ids: string[]): Promise<void> {
    const commitment = commitmentToDecimal(poseidonCommitment(this.secret))
    const store = await StoreClient.open(this.host, this.peer)
    try {
      let next = 0
      await Promise.all(Array.from({ length: WINDOW }, async () => {
        while (next < mib) {
          next++
          const data = randomBytes(MIB)
          const chunkId = chunkIdOf(data)
          await store.store({ chunkId, commitment, deleteCommitment: commitment, data })
          ids.push(chunkId)
        }
      }))
    } finally {
      await store.close()
    }
  }

  private async getMbps (): Promise<number> {
    const session = await SessionClient.open({ host: this.host, peer: this.peer, action: 'read', secret: this.secret, commitment: poseidonCommitment(this.secret), prover: this.prover })
    const started = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: WINDOW }, async () => { while (next < this.ids.length) await session.get(this.ids[next++]!) }))
    const seconds = (performance.now() - started) / 1000
    await session.close()
    return this.ids.length * MIB / 1e6 / seconds
  }

  /** Fresh identities connecting one after another, spaced so the node's per-host connection rate (5/s) is not what is measured. */
  private async connects (n: number): Promise<{ connectMs: number, connectFailures: number }> {
    const samples: number[] = []
    let failures = 0
    for (let i = 0; i < n; i++) {
      const host = await startClientHost()
      try {
        await host.peerStore.merge(this.peer, { multiaddrs: this.addrs })
        const started = performance.now()
        await host.dial(this.peer, { signal: AbortSignal.timeout(30_000) })
        samples.push(performance.now() - started)
      } catch {
        failures++
      } finally {
        await host.stop()
      }
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    return { connectMs: samples.length === 0 ? NaN : median(samples), connectFailures: failures }
  }
}

async function medianOf (rounds: number, sample: () => Promise<number>): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < rounds; i++) samples.push(await sample())
  return median(samples)
}
