import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { AtRestEncryptedChunkStore } from './adapters/chunk-store/at-rest-encrypted-chunk-store.ts'
import { FsChunkStore } from './adapters/chunk-store/fs-chunk-store.ts'
import { ControlApiServer } from './adapters/control-api/control-api-server.ts'
import { FILES, loadConfig, loadSecrets, writeAtomic } from './adapters/data-dir/data-dir.ts'
import { startMembership, type Membership } from './adapters/libp2p/membership.ts'
import { LevelMetadataStore } from './adapters/metadata-store/level-metadata-store.ts'
import { LevelPeerBook } from './adapters/peer-book/level-peer-book.ts'
import { nodeStatus } from './app/node-status.ts'
import { nodeAtRestKey } from './domain/crypto/key-derivation.ts'
import { peerQuotaOf, type NodeConfig } from './domain/config/node-config.ts'
import { formatSize } from './domain/config/size.ts'
import { startFederationProtocols } from './adapters/libp2p/protocols/federation-protocols.ts'
import { MAX_CHUNK_BYTES } from './adapters/libp2p/wire/constants.ts'
import { loadProofArtefacts } from './adapters/proof/artefacts.ts'
import { SnarkjsVerifier } from './adapters/proof/snarkjs-verifier.ts'
import { StorageService } from './app/storage-service.ts'
import { ownerRoutes } from './adapters/control-api/owner-routes.ts'
import { FileCatalogueCache } from './adapters/data-dir/file-catalogue-cache.ts'
import { Libp2pFederationClient } from './adapters/libp2p/libp2p-federation-client.ts'
import { SnarkjsProver } from './adapters/proof/snarkjs-prover.ts'
import { CatalogueService } from './app/owner/catalogue-service.ts'
import { OwnerService } from './app/owner/owner-service.ts'
import { DataDirError } from './errors.ts'
import type { LoggerFactory } from './ports/logger.ts'

/** Peers that keep each generation of the owner's catalogue: losing it loses the file list. */
const CATALOGUE_REPLICAS = 5

/** Creates the value on first use, once, even under concurrent first uses. */
function lazily<T> (create: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined
  return async () => {
    value ??= create().catch((err) => { value = undefined; throw err })
    return value
  }
}

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
  stop (): Promise<void>
}

/**
 * The one place where adapters are chosen and wired together. Everything else
 * receives its collaborators.
 */
export async function startNode (options: StartNodeOptions): Promise<RunningNode> {
  const { dataDir, loggers } = options
  const log = loggers('node')
  const config: NodeConfig = { ...await loadConfig(dataDir), ...options.overrides }
  const secrets = await loadSecrets(dataDir)
  const cleanups: Array<() => Promise<unknown>> = []
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err) => log.error('shutdown step failed', err))
    }
  }

  try {
    const metadata = await LevelMetadataStore.open({ location: join(dataDir, FILES.metadata) }).catch((err) => {
      throw new DataDirError(`cannot open ${join(dataDir, FILES.metadata)}; is another daemon running on this data directory? (${err?.cause?.cause?.code ?? err?.message})`, { cause: err })
    })
    cleanups.push(async () => metadata.close())
    // every byte is encrypted with this node's own key before the disk adapter sees it
    const chunkStore = new AtRestEncryptedChunkStore({
      inner: await FsChunkStore.open({ root: join(dataDir, FILES.chunks) }),
      key: nodeAtRestKey(secrets.nodeSecret)
    })
    cleanups.push(async () => chunkStore.close())

    const peerBook = await LevelPeerBook.open({ location: join(dataDir, FILES.peers) }).catch((err) => {
      throw new DataDirError(`cannot open ${join(dataDir, FILES.peers)}: ${err?.cause?.cause?.code ?? err?.message}`, { cause: err })
    })
    cleanups.push(async () => peerBook.close())

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
    cleanups.push(async () => membership.stop())
    const host = membership.host
    const peerId = host.peerId.toString()
    log.info(`peer id ${peerId}`)

    const verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
    cleanups.push(async () => verifier.close())
    const storage = new StorageService({
      chunkStore, metadata, capacity: config.capacity, peerQuota: peerQuotaOf(config), maxChunkBytes: MAX_CHUNK_BYTES
    })
    const protocols = await startFederationProtocols({ host, privateKey: secrets.identity, storage, verifier, loggers })
    cleanups.push(async () => protocols.stop())
    const collecting = new AbortController()
    const orphans = storage.collectOrphans({ signal: collecting.signal })
      .then((n) => { if (n > 0) log.info(`removed ${n} chunk(s) left without a record by an earlier crash`) })
      .catch((err) => { if (!collecting.signal.aborted) log.warn('orphan collection failed', err) })
    cleanups.push(async () => { collecting.abort(); await orphans })
    log.info(`storage offered: ${formatSize(config.capacity)}, per peer ${formatSize(peerQuotaOf(config))}; proof system ${artefacts.proofSystemId.slice(0, 16)}…`)
    for (const addr of host.getMultiaddrs()) log.info(`listening on ${addr.toString()}`)

    const owner = lazily(async () => {
      const prover = await SnarkjsProver.create({ artefacts })
      cleanups.push(async () => prover.close())
      const federation = new Libp2pFederationClient({
        host,
        prover,
        candidates: async (o) => (await membership.livePeers(o)).map((p) => ({ peerId: p.peerId, freeBytes: p.free, reachable: true }))
      })
      const deps = { master: secrets.ownerSecret, federation, log: loggers('owner') }
      const catalogue = new CatalogueService({
        ...deps, cache: new FileCatalogueCache(join(dataDir, FILES.catalogueCache)), replicas: CATALOGUE_REPLICAS, log: loggers('owner:catalogue')
      })
      return new OwnerService(deps, catalogue)
    })

    const api = new ControlApiServer({
      address: config.api,
      log: loggers('api'),
      routes: {
        'GET /v1/status': async (_body, signal) => nodeStatus({
          peerId: () => peerId,
          addresses: () => host.getMultiaddrs().map((a) => a.toString()),
          capacity: config.capacity,
          chunkStore,
          dataDir,
          startedAt,
          network: async (s) => membership.network({ signal: s })
        }, signal),
        'GET /v1/peers': async (_body, signal) => membership.peers({ signal }),
        ...ownerRoutes(owner)
      }
    })
    const apiUrl = await api.start()
    cleanups.push(async () => api.stop())
    await writeAtomic(join(dataDir, FILES.apiToken), api.token + '\n', 0o600)
    await writeAtomic(join(dataDir, FILES.api), JSON.stringify({ url: apiUrl, pid: process.pid, peerId }) + '\n', 0o644)
    cleanups.push(async () => Promise.all([rm(join(dataDir, FILES.api), { force: true }), rm(join(dataDir, FILES.apiToken), { force: true })]))
    log.info(`control API on ${apiUrl}`)

    return { peerId, apiUrl, membership, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
