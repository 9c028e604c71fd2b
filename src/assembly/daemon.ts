import { join } from 'node:path'
import { FILES, loadConfig, loadSecrets } from '../adapters/data-dir/data-dir.ts'
import { LevelPeerBook } from '../adapters/peer-book/level-peer-book.ts'
import { loadProofArtefacts } from '../adapters/proof/artefacts.ts'
import { WorkerPoolVerifier } from '../adapters/proof/worker-pool-verifier.ts'
import { nodeAtRestKey } from '../domain/crypto/key-derivation.ts'
import { peerQuotaOf, strangersCapacityOf, type NodeConfig } from '../domain/config/node-config.ts'
import { openAdmission } from './admission.ts'
import { formatSize } from '../domain/config/size.ts'
import { DataDirError } from '../errors.ts'
import type { LoggerFactory } from '../ports/logger.ts'
import type { HandoffService } from '../app/handoff/handoff-service.ts'
import { startControlApi } from './control-api.ts'
import { startHandoff } from './handoff.ts'
import { startMembership, type Membership } from './membership.ts'
import { startOwnerSide } from './owner-side.ts'
import { Shutdown } from './shutdown.ts'
import { openStorageSide } from './storage-side.ts'

export interface StartNodeOptions {
  dataDir: string
  /** Flag values that override config.json for this run. */
  overrides?: Partial<NodeConfig>
  loggers: LoggerFactory
  /**
   * The proof-system id announced and required from peers. Defaults to the
   * placeholder; the verification-key hash replaces it here once it exists.
   */
  proofSystemId?: string
}

export interface RunningNode {
  peerId: string
  apiUrl: string
  /** Federation membership: the libp2p host and the live peers placement chooses from. */
  membership: Membership
  /** Short one-time codes (protocol-spec/handoff.md): offer a capability, redeem a code. */
  handoff: HandoffService
  stop (): Promise<void>
}

/**
 * The daemon: the four halves over one data directory, in the order each needs the
 * one before (storage, whose usage membership announces; membership, whose host the
 * storage protocols and the owner use; the owner; the control API over all of them),
 * and stopped in the reverse order.
 */
export async function startNode (options: StartNodeOptions): Promise<RunningNode> {
  const { dataDir, loggers } = options
  const log = loggers('node')
  const config: NodeConfig = { ...await loadConfig(dataDir), ...options.overrides }
  const secrets = await loadSecrets(dataDir)
  const shutdown = new Shutdown(log)

  try {
    // a damaged trust file stops start-up: the operator's peers would lose their room
    const admission = await openAdmission({ trustPath: join(dataDir, FILES.trust), receiptsPath: join(dataDir, FILES.receipts), config })
    shutdown.push(async () => admission.close())
    const { trust, receipts } = admission
    const storageSide = await openStorageSide({
      chunksDir: join(dataDir, FILES.chunks),
      metadataDir: join(dataDir, FILES.metadata),
      atRestKey: nodeAtRestKey(secrets.nodeSecret),
      capacity: config.capacity,
      allowanceOf: admission.allowanceOf,
      loggers
    })
    shutdown.push(async () => storageSide.stop())
    const { chunkStore } = storageSide
    const allowances = admission.attach(storageSide)

    const peerBook = await LevelPeerBook.open({ location: join(dataDir, FILES.peers) }).catch((err) => {
      throw new DataDirError(`cannot open ${join(dataDir, FILES.peers)}: ${err?.cause?.cause?.code ?? err?.message}`, { cause: err })
    })
    shutdown.push(async () => peerBook.close())

    const artefacts = await loadProofArtefacts()
    const startedAt = new Date()
    const membership = await startMembership({
      privateKey: secrets.identity,
      config,
      book: peerBook,
      proofSystemId: options.proofSystemId ?? artefacts.proofSystemId,
      freeBytes: async (o) => config.capacity - await chunkStore.usedBytes(o),
      startedAt,
      loggers
    })
    shutdown.push(async () => membership.stop())
    const host = membership.host
    const peerId = host.peerId.toString()
    log.info(`peer id ${peerId}`)

    // off the event loop, served in turn per subnet and peer: a proof flood delays only its sender
    const verifier = await WorkerPoolVerifier.create({ verificationKey: artefacts.verificationKey, workers: config.proofWorkers })
    shutdown.push(async () => verifier.close())
    // trusted and reciprocal peers prove ahead of strangers and past their bounds
    const hasStanding = (peer: string): boolean => allowances.standingOf(peer) !== 'stranger'
    shutdown.push(await storageSide.serve({ host, privateKey: secrets.identity, verifier, hasStanding }))
    log.info(`storage offered: ${formatSize(config.capacity)}, ${formatSize(strangersCapacityOf(config))} of it to strangers at ${formatSize(Math.min(config.newcomerAllowance, peerQuotaOf(config)))} each, ${trust.list().length} trusted peer(s); proof system ${artefacts.proofSystemId.slice(0, 16)}…`)
    for (const addr of host.getMultiaddrs()) log.info(`listening on ${addr.toString()}`)

    const handoff = await startHandoff({
      host,
      loggers,
      // the sharer is online by definition: connected peers first, then the live ones
      candidates: async (o) => [...new Set([...host.getPeers().map((p) => p.toString()), ...(await membership.livePeers(o)).map((p) => p.peerId)])]
        .filter((p) => p !== peerId)
    })
    shutdown.push(async () => handoff.stop())

    const ownerSide = await startOwnerSide({
      host,
      master: secrets.ownerSecret,
      artefacts,
      candidates: async (o) => (await membership.livePeers(o)).map((p) => ({
        peerId: p.peerId, freeBytes: p.free, reachable: true, firstSeen: p.firstSeen, probes: p.probes, successes: p.successes, addresses: p.addresses
      })),
      catalogueCachePath: join(dataDir, FILES.catalogueCache),
      observedAlive: membership.observedAlive,
      shortCodes: handoff.service,
      receipts,
      loggers
    })
    shutdown.push(async () => ownerSide.stop())


    const api = await startControlApi({
      address: config.api,
      dataDir,
      peerId,
      status: {
        peerId: () => peerId,
        addresses: () => host.getMultiaddrs().map((a) => a.toString()),
        capacity: config.capacity,
        chunkStore,
        dataDir,
        startedAt,
        network: async (s) => membership.network({ signal: s })
      },
      peers: async (o) => membership.peers(o),
      owner: ownerSide.owner,
      trust: {
        trust,
        allowances: async (o) => allowances.view((await membership.peers(o)).peers.map((p) => p.peerId), o)
      },
      loggers
    })
    shutdown.push(async () => api.stop())
    log.info(`control API on ${api.url}`)

    return { peerId, apiUrl: api.url, membership, handoff: handoff.service, stop: async () => shutdown.run() }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}
