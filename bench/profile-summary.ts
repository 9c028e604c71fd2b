// Reads the daemons' CPU profiles written by `BENCH_PROF=DIR npm run bench -- owner`
// and says, for each transfer (put, get) and each daemon, how much CPU it spent per
// MiB of file and on what: self time grouped into a few named costs, then the
// functions that cost most.
//   bash scripts/node.sh bench/profile-summary.ts DIR
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: ProfileNode[], startTime: number, samples: number[], timeDeltas: number[] }

// A sample is charged to the first of these that matches a frame on its stack, read
// from the leaf up, so node:crypto's `update` counts as Noise under Noise and as the
// owner layer under it. A frame is named by its function and the file it is in.
const COSTS: Array<[string, RegExp]> = [
  ['idle', /^\(idle\)/],
  ['garbage collection', /^\(garbage collector\)/],
  ['Noise ChaCha20-Poly1305', /chaCha20Poly1305|libp2p-noise|cached-key-noise-crypto|as-chacha20poly1305/],
  ['Groth16 prove/verify (snarkjs)', /snarkjs|ffjavascript|wasmcurves|web-worker|snarkjs-(prover|verifier)/],
  ['AEAD (owner layer, at rest)', /aes-gcm-envelope|owner-layer|sealed-pieces|at-rest-encrypted/],
  ['hashing (chunk ids)', /chunk-id\.ts|file-id\.ts/],
  ['level (metadata)', /classic-level|abstract-level|level-metadata-store/],
  ['chunk files (fs-chunk-store)', /fs-chunk-store/],
  ['file reading, chunking (owner)', /chunker\.ts/],
  ['Yamux', /libp2p-yamux/],
  ['wire framing, protobuf', /framed-stream|protobufjs|wire\/messages|pipelined-exchange|ordered-responder|store-client|store-handler|session-client|session-handler/]
]
// a sample whose stack matches none of the above is charged by its leaf to one of these
const GENERIC: Array<[string, RegExp]> = [
  ['libp2p, streams, uint8arraylist', /libp2p|uint8arraylist|\/it-|multiformats/],
  ['node internals (streams, buffers, fs)', /^node:|internal\//],
  ['native, runtime', /.*/]
]

function costOf (leaf: ProfileNode, parents: Map<number, ProfileNode>): string {
  for (let node: ProfileNode | undefined = leaf; node !== undefined; node = parents.get(node.id)) {
    const key = `${node.callFrame.functionName} ${node.callFrame.url}`
    for (const [name, pattern] of COSTS) if (pattern.test(key)) return name
  }
  const key = `${leaf.callFrame.functionName} ${leaf.callFrame.url}`
  for (const [name, pattern] of GENERIC) if (pattern.test(key)) return name
  return 'other'
}

/** The daemon's profiles, main thread first (CPU.<date>.<time>.<pid>.<thread>.<seq>); workers are snarkjs'. */
function profilesOf (dir: string): Array<{ thread: string, path: string }> {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ thread: f.split('.')[4] === '0' ? 'main thread' : `worker ${f.split('.')[4]}`, path: join(dir, f) }))
    .filter((p) => statSync(p.path).size > 100_000)
    .sort((a, b) => a.thread.localeCompare(b.thread))
}

const root = process.argv[2]!
const { mib, windows } = JSON.parse(readFileSync(join(root, 'windows.json'), 'utf8')) as { mib: number, windows: Array<{ name: string, startUs: number, endUs: number }> }
for (const daemon of readdirSync(root).filter((d) => statSync(join(root, d)).isDirectory()).sort()) {
  for (const { thread, path } of profilesOf(join(root, daemon))) {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parents = new Map<number, ProfileNode>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node)
  for (const window of windows.filter((w) => w.name !== '')) {
    const costs = new Map<string, number>()
    const functions = new Map<string, number>()
    let at = profile.startTime
    let busyUs = 0
    for (let i = 0; i < profile.samples.length; i++) {
      at += profile.timeDeltas[i]!
      if (at < window.startUs || at > window.endUs) continue
      const leaf = byId.get(profile.samples[i]!)!
      const frame = leaf.callFrame
      const cost = costOf(leaf, parents)
      const us = profile.timeDeltas[i + 1] ?? 0
      costs.set(cost, (costs.get(cost) ?? 0) + us)
      if (cost === 'idle') continue
      busyUs += us
      const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`
      functions.set(name, (functions.get(name) ?? 0) + us)
    }
    const wallMs = (window.endUs - window.startUs) / 1000
    console.log(`\n### ${window.name}: ${daemon} ${thread}, ${(busyUs / 1000).toFixed(0)} ms CPU in ${wallMs.toFixed(0)} ms (${(busyUs / 1000 / mib).toFixed(1)} ms per MiB, busy ${(100 * busyUs / 1000 / wallMs).toFixed(0)}%)`)
    if (busyUs === 0) continue
    for (const [cost, us] of [...costs].filter(([c]) => c !== 'idle').sort((a, b) => b[1] - a[1])) {
      console.log(`  ${(100 * us / busyUs).toFixed(0).padStart(3)}%  ${(us / 1000 / mib).toFixed(2).padStart(6)} ms/MiB  ${cost}`)
    }
    console.log('  top functions (self time):')
    for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      console.log(`  ${(100 * us / busyUs).toFixed(1).padStart(5)}%  ${name}`)
    }
  }
}
}
