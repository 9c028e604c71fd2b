import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import type { ProofAction } from '../../domain/proofs/proof-context.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { FederationClient, ProvenSession, StorageCandidate, StoreChannel } from '../../ports/federation-client.ts'
import type { Prover } from '../../ports/prover.ts'
import { SessionClient } from './protocols/session-client.ts'
import { StoreClient } from './protocols/store-client.ts'

export interface Libp2pFederationClientInit {
  host: Libp2p
  prover: Prover
  /** Storage nodes to choose from: the peer book's live peers with their free space. */
  candidates: (options?: AbortOptions) => Promise<StorageCandidate[]>
}

/** FederationClient over the Quloud libp2p protocols. */
export class Libp2pFederationClient implements FederationClient {
  private readonly init: Libp2pFederationClientInit

  constructor (init: Libp2pFederationClientInit) {
    this.init = init
  }

  async candidates (options?: AbortOptions): Promise<StorageCandidate[]> {
    const self = this.init.host.peerId.toString()
    return (await this.init.candidates(options)).filter((c) => c.peerId !== self)
  }

  async openStore (peerId: string, options?: AbortOptions): Promise<StoreChannel> {
    const client = await StoreClient.open(this.init.host, peerIdFromString(peerId), options)
    return {
      store: async (chunk) => {
        const receipt = await client.store(chunk)
        return { peerId, chunkId: receipt.chunkId, timeMs: receipt.timeMs, signature: Buffer.from(receipt.signature).toString('base64') }
      },
      close: async () => client.close()
    }
  }

  async openSession (peerId: string, proof: { action: ProofAction, secret: bigint }, options?: AbortOptions): Promise<ProvenSession> {
    const session = await SessionClient.open({
      host: this.init.host,
      peer: peerIdFromString(peerId),
      action: proof.action,
      secret: proof.secret,
      commitment: poseidonCommitment(proof.secret),
      prover: this.init.prover,
      signal: options?.signal
    })
    return {
      get: async (chunkId) => session.get(chunkId),
      list: async () => session.list(),
      delete: async (chunkId) => ({ bytesRemoved: (await session.delete(chunkId)).bytesRemoved }),
      close: async () => session.close()
    }
  }
}

