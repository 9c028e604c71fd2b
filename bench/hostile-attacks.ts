// The attack classes of the hostile bench, each run by bench/hostile-attacker.ts in a
// process of its own. Every attack starts, keeps going until `stop`, and then says
// what it did (counts only: the bench measures the victim and the honest peer).
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { StrictSign } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
// gossipsub's own message builder: each forged announcement is signed by a fresh key, as a real forger would
import { buildRawMessage } from '../node_modules/@libp2p/gossipsub/dist/src/utils/buildRawMessage.js'
import { getPublishConfigFromPeerId } from '../node_modules/@libp2p/gossipsub/dist/src/utils/publishConfig.js'
import { signAnnouncement } from '../src/adapters/libp2p/announcement-signature.ts'
import { createHost } from '../src/adapters/libp2p/create-host.ts'
import { federationHostOptions, type FederationServices } from '../src/adapters/libp2p/federation-services.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { MAX_CONTROL_FRAME_BYTES, MAX_DATA_FRAME_BYTES, RETRIEVE_PROTOCOL, STORE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { SessionRequestCodec, SessionResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { sendWithBackPressure } from '../src/adapters/libp2p/wire/send-with-back-pressure.ts'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { DEFAULT_CONFIG } from '../src/domain/config/node-config.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { encodeSignedAnnouncement } from '../src/domain/membership/announcement.ts'
import { announceTopic } from '../src/domain/membership/federation.ts'
import { encodeGroth16Proof } from '../src/domain/proofs/groth16-proof.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { deriveProofContext } from '../src/domain/proofs/proof-context.ts'
import { BusyError, CapacityFullError, QuotaExceededError } from '../src/domain/protocol/federation-errors.ts'
import { startClientHost } from '../test/helpers/storage-node.ts'

export interface AttackTarget { peerId: string, addrs: string[], federation: string }
export interface RunningAttack { stop (): Promise<Record<string, number>> }
type Attack = (target: AttackTarget) => Promise<RunningAttack>

const IDS = Number(process.env.BENCH_ATTACK_IDS ?? 3)
const pause = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `n` fresh identities, each connected: the victim lets one host connect a few times a second, so they retry. */
async function attackerHosts (target: AttackTarget, n: number): Promise<Libp2p[]> {
  const peer = peerIdFromString(target.peerId)
  return Promise.all(Array.from({ length: n }, async () => {
    const host = await startClientHost()
    await host.peerStore.merge(peer, { multiaddrs: target.addrs.map((a) => multiaddr(a)) })
    await retried(async () => host.dial(peer))
    return host
  }))
}

async function retried<T> (attempt: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await attempt()
    } catch (err) {
      if (tries >= 100) throw err
      await pause(200 + Math.random() * 300)
    }
  }
}

async function stopAll (hosts: Libp2p[]): Promise<void> {
  await Promise.all(hosts.map(async (h) => Promise.resolve(h.stop()).catch(() => {})))
}

/** Runs `body` in `n` loops until stopped; a loop that throws pauses 10 ms and goes on. */
function loops (n: number, body: (i: number) => Promise<void>): { stop: () => Promise<void> } {
  let running = true
  const all = Array.from({ length: n }, async (_, i) => {
    while (running) await body(i).catch(async () => pause(10))
  })
  return { stop: async () => { running = false; await Promise.race([Promise.allSettled(all), pause(3000)]) } }
}

/** IDS ids x 8 streams of curve-valid bogus proofs (a real proof made for another context: each costs a pairing if admitted). */
const proofs: Attack = async (target) => {
  const prover = await SnarkjsProver.create({ artefacts: await loadProofArtefacts() })
  const secret = 424242n
  const commitment = commitmentToDecimal(poseidonCommitment(secret))
  const bogus = encodeGroth16Proof(await prover.prove({
    secret,
    commitment: poseidonCommitment(secret),
    context: deriveProofContext({ challenge: new Uint8Array(32), storageNode: new Uint8Array(38).fill(1), requester: new Uint8Array(38).fill(2), action: 'read', expiresAt: 1 })
  }))
  await prover.close()
  const hosts = await attackerHosts(target, IDS)
  const counts = { answered: 0, challenged: 0, refusedBeforeChallenge: 0 }
  const peer = peerIdFromString(target.peerId)
  const running = loops(hosts.length * 8, async (i) => {
    const stream = await hosts[i % hosts.length]!.dialProtocol(peer, RETRIEVE_PROTOCOL)
    try {
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_CONTROL_FRAME_BYTES, idleTimeoutMs: 20_000 })
      await framed.write(SessionRequestCodec, { hello: { commitment } })
      const first = await framed.read(SessionResponseCodec)
      if (first !== undefined && 'challenge' in first) {
        counts.challenged++
        await framed.write(SessionRequestCodec, { proof: { proof: bogus } })
        await framed.read(SessionResponseCodec) // INVALID_PROOF, or BUSY
        counts.answered++
      } else {
        counts.refusedBeforeChallenge++
      }
    } finally {
      stream.abort(new Error('next'))
    }
  })
  return { stop: async () => { await running.stop(); await stopAll(hosts); return counts } }
}

/**
 * IDS ids that each store 16 chunks under their own commitment, prove for it once, then
 * open 64 retrieve streams with 16 gets each and never read an answer.
 */
const unread: Attack = async (target) => {
  const prover = await SnarkjsProver.create({ artefacts: await loadProofArtefacts() })
  const hosts = await attackerHosts(target, IDS)
  const peer = peerIdFromString(target.peerId)
  const held: Stream[] = []
  const sessions: SessionClient[] = []
  const counts = { streams: 0, refused: 0, getsUnread: 0 }
  await Promise.all(hosts.map(async (host, h) => {
    const secret = BigInt(900_000 + h)
    const commitment = commitmentToDecimal(poseidonCommitment(secret))
    const ids: string[] = []
    await retried(async () => {
      const store = await StoreClient.open(host, peer)
      for (let i = ids.length; i < 16; i++) {
        const data = randomBytes(1024 * 1024)
        await store.store({ chunkId: chunkIdOf(data), commitment, deleteCommitment: commitment, data })
        ids.push(chunkIdOf(data))
      }
      await store.close()
    })
    // the proof opens a session on this connection: every further stream reuses it
    sessions.push(await retried(async () => SessionClient.open({ host, peer, action: 'read', secret, commitment: poseidonCommitment(secret), prover })))
    await Promise.all(Array.from({ length: 64 }, async () => {
      try {
        const stream = await host.dialProtocol(peer, RETRIEVE_PROTOCOL)
        held.push(stream)
        const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 600_000 })
        await framed.write(SessionRequestCodec, { hello: { commitment } })
        const ready = await framed.read(SessionResponseCodec)
        if (ready === undefined || !('ready' in ready)) { counts.refused++; return }
        counts.streams++
        for (const chunkId of ids) { await framed.write(SessionRequestCodec, { get: { chunkId } }); counts.getsUnread++ }
      } catch {
        counts.refused++
      }
    }))
  }))
  await prover.close()
  return {
    stop: async () => {
      for (const s of held) s.abort(new Error('done'))
      for (const s of sessions) await s.close().catch(() => {})
      await stopAll(hosts)
      return counts
    }
  }
}

/** IDS ids x 64 store streams, each sending all but the last byte of a frame at the data frame limit, then holding it. */
const partial: Attack = async (target) => {
  const hosts = await attackerHosts(target, IDS)
  const peer = peerIdFromString(target.peerId)
  const counts = { streamsOpened: 0, peakMiBHeld: 0 }
  let sent = 0
  const length = MAX_DATA_FRAME_BYTES
  const prefix = varint(length)
  const body = new Uint8Array(length - 1)
  const held: Stream[] = []
  const running = loops(hosts.length * 64, async (i) => {
    const stream = await hosts[i % hosts.length]!.dialProtocol(peer, STORE_PROTOCOL)
    held.push(stream)
    counts.streamsOpened++
    await sendWithBackPressure(stream, prefix)
    await sendWithBackPressure(stream, body)
    sent += body.byteLength
    counts.peakMiBHeld = Math.max(counts.peakMiBHeld, Math.round(sent / 2 ** 20))
    // hold it until the node gives up on the frame (its deadline), then start again; a
    // stream refused at once (over the node's stream limits) waits, as a patient attacker would
    const opened = performance.now()
    await new Promise((resolve) => stream.addEventListener('close', resolve, { once: true }))
    sent -= body.byteLength
    if (performance.now() - opened < 1000) await pause(1000)
  })
  return {
    stop: async () => {
      const stopping = running.stop()
      for (const s of held) s.abort(new Error('done'))
      await stopping
      await stopAll(hosts)
      return counts
    }
  }
}

/** Raw TCP sockets from 127.0.0.2 that never start the handshake: 20 new ones a second, each kept until the node drops it. */
const halfopen: Attack = async (target) => {
  const tcp = /\/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(target.addrs[0]!)!
  const sockets = new Set<Socket>()
  const counts = { opened: 0, droppedByNode: 0, heldAtEnd: 0 }
  const timer = setInterval(() => {
    const socket = connect({ host: tcp[1]!, port: Number(tcp[2]), localAddress: '127.0.0.2' })
    counts.opened++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => { if (sockets.delete(socket)) counts.droppedByNode++ })
  }, 50)
  return {
    stop: async () => {
      clearInterval(timer)
      counts.heldAtEnd = sockets.size
      for (const s of [...sockets]) { sockets.delete(s); s.destroy() }
      return counts
    }
  }
}

/** Announcements each signed by a fresh key, forwarded over one gossipsub connection: 1,000 at once, then 50 a second. */
const eclipse: Attack = async (target) => {
  const topic = announceTopic(target.federation)
  const attacker = await createHost<FederationServices>({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    publicAddresses: [],
    ...federationHostOptions({ ...DEFAULT_CONFIG, federation: target.federation, mdns: false, dhtMode: 'server', onDiscovered: undefined })
  })
  await attacker.start()
  attacker.services.pubsub.subscribe(topic)
  const victim = peerIdFromString(target.peerId)
  await attacker.dial(multiaddr(target.addrs[0]!))
  for (let i = 0; i < 300 && !attacker.services.pubsub.getSubscribers(topic).some((p) => p.equals(victim)); i++) await pause(100)
  const pubsub = attacker.services.pubsub as unknown as { sendRpc (to: string, rpc: unknown): boolean }
  const counts = { forged: 0, rpcsRefused: 0 }
  const batch = async (): Promise<void> => {
    const messages = []
    for (let i = 0; i < 50; i++) {
      const key = await generateKeyPair('Ed25519')
      const data = encodeSignedAnnouncement(await signAnnouncement(key, forged(key, target.federation)))
      messages.push((await buildRawMessage(getPublishConfigFromPeerId(StrictSign, peerIdFromPrivateKey(key), key), topic, data, data)).raw)
    }
    if (!pubsub.sendRpc(target.peerId, { subscriptions: [], messages })) counts.rpcsRefused++
    counts.forged += messages.length
  }
  for (let i = 0; i < 20; i++) await batch()
  const running = loops(1, async () => { await batch(); await pause(1000) })
  return { stop: async () => { await running.stop(); await Promise.resolve(attacker.stop()).catch(() => {}); return counts } }
}

function forged (key: PrivateKey, federation: string): Parameters<typeof signAnnouncement>[1] {
  return {
    federation,
    peerId: peerIdFromPrivateKey(key).toString(),
    // nothing listens there: a forged id never answers a dial
    addresses: ['/ip4/127.0.0.1/tcp/1'],
    capacity: 8e15,
    free: 8e15,
    proofSystem: 'bench',
    software: 'quloud/0.1.0',
    protocols: [],
    uptime: 1_000_000,
    timestamp: Date.now()
  }
}

/** 48 fresh ids storing 1 MiB chunks, 2 at a time each, until each is refused for room (its allowance, or the strangers' share); BUSY is waited out. */
const sybilfill: Attack = async (target) => {
  const hosts = await attackerHosts(target, Number(process.env.BENCH_SYBILS ?? 48))
  const peer = peerIdFromString(target.peerId)
  const counts = { storedMiB: 0, refusedIds: 0, busy: 0, connectionsRefused: 0 }
  const full = new Set<number>()
  // opened when an id first stores: the node's connection budget (strangers per subnet,
  // new connections a minute) refuses some ids outright, which is part of the defence
  const stores = new Map<number, Promise<StoreClient>>()
  const storeOf = (id: number): Promise<StoreClient> => {
    let store = stores.get(id)
    if (store === undefined) {
      store = StoreClient.open(hosts[id]!, peer)
      store.catch(() => {})
      stores.set(id, store)
    }
    return store
  }
  const running = loops(hosts.length * 2, async (i) => {
    const id = i % hosts.length
    if (full.has(id)) { await pause(1000); return }
    let store: StoreClient
    try {
      store = await storeOf(id)
    } catch {
      stores.delete(id)
      counts.connectionsRefused++
      await pause(1000)
      return
    }
    const data = randomBytes(1024 * 1024)
    const commitment = commitmentToDecimal(poseidonCommitment(BigInt(1 + id)))
    try {
      await store.store({ chunkId: chunkIdOf(data), commitment, deleteCommitment: commitment, data })
      counts.storedMiB++
    } catch (err) {
      // only a refusal for room ends an id; BUSY (which closes the stream) or a lost stream
      // is waited out on a new stream, as a patient attacker would
      if (!(err instanceof QuotaExceededError || err instanceof CapacityFullError)) {
        if (err instanceof BusyError) counts.busy++
        if (stores.get(id) !== undefined) { stores.delete(id); void store.close().catch(() => {}) }
        await pause(1000)
        return
      }
      if (!full.has(id)) { full.add(id); counts.refusedIds++ }
      throw err
    }
  })
  return { stop: async () => { await running.stop(); await stopAll(hosts); return counts } }
}

function varint (n: number): Uint8Array {
  const out: number[] = []
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80)
  out.push(n)
  return Uint8Array.from(out)
}

export const ATTACKS: Record<string, Attack> = { proofs, unread, partial, halfopen, eclipse, sybilfill }
