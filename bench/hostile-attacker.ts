// A bench attacker in its own process: IDS fresh peer ids each keep CONCURRENCY retrieve
// streams busy with curve-valid bogus proofs (a real proof made for another context, so
// every one costs the node a full pairing and fails). Prints "ready", then counts
// until SIGTERM and prints how many proofs it had verified against the node.
import { once } from 'node:events'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { MAX_CONTROL_FRAME_BYTES, RETRIEVE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { SessionRequestCodec, SessionResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { encodeGroth16Proof } from '../src/domain/proofs/groth16-proof.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { deriveProofContext } from '../src/domain/proofs/proof-context.ts'
import { startClientHost } from '../test/helpers/storage-node.ts'

const [peerText, ...addrs] = process.argv.slice(2)
const IDS = Number(process.env.BENCH_ATTACK_IDS ?? 3)
const CONCURRENCY = Number(process.env.BENCH_ATTACK_STREAMS ?? 8)
const target = peerIdFromString(peerText!)
const secret = 424242n
const commitment = poseidonCommitment(secret)
const prover = await SnarkjsProver.create({ artefacts: await loadProofArtefacts() })
const bogus = encodeGroth16Proof(await prover.prove({
  secret,
  commitment,
  context: deriveProofContext({ challenge: new Uint8Array(32), storageNode: new Uint8Array(38).fill(1), requester: new Uint8Array(38).fill(2), action: 'read', expiresAt: 1 })
}))
await prover.close()

let sent = 0
let running = true
const hosts = await Promise.all(Array.from({ length: IDS }, async () => {
  const host = await startClientHost()
  await host.peerStore.merge(target, { multiaddrs: addrs.map((a) => multiaddr(a)) })
  return host
}))
const loops = hosts.flatMap((host) => Array.from({ length: CONCURRENCY }, async () => {
  while (running) {
    try {
      const stream = await host.dialProtocol(target, RETRIEVE_PROTOCOL)
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_CONTROL_FRAME_BYTES, idleTimeoutMs: 20_000 })
      await framed.write(SessionRequestCodec, { hello: { commitment: commitmentToDecimal(commitment) } })
      await framed.read(SessionResponseCodec) // the challenge
      await framed.write(SessionRequestCodec, { proof: { proof: bogus } })
      await framed.read(SessionResponseCodec) // INVALID_PROOF, or BUSY
      sent++
      stream.abort(new Error('next'))
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}))
process.stdout.write('ready\n')
await once(process, 'SIGTERM')
running = false
process.stdout.write(JSON.stringify({ proofs: sent }) + '\n')
await Promise.race([Promise.allSettled(loops), new Promise((resolve) => setTimeout(resolve, 2000))])
for (const host of hosts) await Promise.resolve(host.stop()).catch(() => {})
process.exit(0)
