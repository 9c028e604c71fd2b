// Where an honest handshake's time goes, calm and under the bogus-proof flood: per
// phase (dial + hello -> challenge, the client's prove, proof -> ready) as medians.
// Set BENCH_PROF=DIR to write the storage node's CPU profile there. Against the bench's
// standalone storage node (bench/fixtures/), the attacker of bench/hostile-attacks.ts.
//   bash scripts/node.sh bench/hostile-phases.ts
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
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

function spawnLine (script: string, args: string[] = [], execArgv: string[] = []): { child: ChildProcess, line: () => Promise<string> } {
  const child = spawn(process.execPath, [...execArgv, fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const queue: string[] = []
  const waiters: Array<(l: string) => void> = []
  lines.on('line', (l) => { const w = waiters.shift(); if (w !== undefined) w(l); else queue.push(l) })
  return { child, line: async () => queue.shift() ?? new Promise<string>((resolve) => waiters.push(resolve)) }
}

const prof = process.env.BENCH_PROF
const node = spawnLine('./fixtures/storage-node-process.ts', [], prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`])
const remote = JSON.parse(await node.line()) as { peerId: string, addrs: string[] }
const peer = peerIdFromString(remote.peerId)
const [host, prover] = await Promise.all([startClientHost(), SnarkjsProver.create({ artefacts: await loadProofArtefacts() })])
await host.peerStore.merge(peer, { multiaddrs: remote.addrs.map((a) => multiaddr(a)) })

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function phases (n: number): Promise<Record<string, number>> {
  const dial: number[] = []; const challenge: number[] = []; const prove: number[] = []; const verdict: number[] = []; const total: number[] = []
  for (let i = 0; i < n; i++) {
    const secret = BigInt(1_000_000 + Math.floor(Math.random() * 1e9))
    const commitment = poseidonCommitment(secret)
    const t0 = performance.now()
    const stream = await host.dialProtocol(peer, RETRIEVE_PROTOCOL)
    const t1 = performance.now()
    const framed = new FramedStream(stream, { maxFrameBytes: MAX_CONTROL_FRAME_BYTES, idleTimeoutMs: 20_000 })
    await framed.write(SessionRequestCodec, { hello: { commitment: commitmentToDecimal(commitment) } })
    const c = await framed.read(SessionResponseCodec)
    const t2 = performance.now()
    if (c === undefined || !('challenge' in c)) throw new Error(`no challenge: ${JSON.stringify(c)}`)
    const proof = await prover.prove({
      secret,
      commitment,
      context: deriveProofContext({ challenge: c.challenge.nonce, storageNode: peer.toMultihash().bytes, requester: host.peerId.toMultihash().bytes, action: 'read', expiresAt: c.challenge.expiresAtMs })
    })
    const t3 = performance.now()
    await framed.write(SessionRequestCodec, { proof: { proof: encodeGroth16Proof(proof) } })
    const r = await framed.read(SessionResponseCodec)
    const t4 = performance.now()
    if (r === undefined || !('ready' in r)) throw new Error(`not ready: ${JSON.stringify(r)}`)
    await framed.close()
    dial.push(t1 - t0); challenge.push(t2 - t1); prove.push(t3 - t2); verdict.push(t4 - t3); total.push(t4 - t0)
  }
  return { dial: median(dial), challenge: median(challenge), prove: median(prove), verdict: median(verdict), total: median(total) }
}

const n = Number(process.env.BENCH_HANDSHAKES ?? 20)
await phases(3)
const calm = await phases(n)
const attacker = spawnLine('./hostile-attacker.ts', ['proofs', JSON.stringify({ peerId: remote.peerId, addrs: remote.addrs, federation: '' })])
await attacker.line()
await new Promise((resolve) => setTimeout(resolve, 2000))
const attacked = await phases(n)
attacker.child.kill('SIGTERM')
console.log(`median ms per phase of ${n} honest handshakes; the attacker: ${await attacker.line()}`)
console.log('| phase | calm | under attack |')
console.log('|---|---:|---:|')
for (const k of Object.keys(calm)) console.log(`| ${k} | ${calm[k]!.toFixed(1)} | ${attacked[k]!.toFixed(1)} |`)
await prover.close()
await host.stop()
node.child.kill('SIGTERM')
await new Promise((resolve) => node.child.on('exit', resolve))
process.exit(0)
