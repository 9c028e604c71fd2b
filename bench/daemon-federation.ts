// A federation of real `quloud start` daemons on 127.0.0.1 for benchmarks: an owner
// and storage nodes, each its own process as on separate boxes, formed through the
// first storage node as bootstrap, each storage node trusting the owner. With BENCH_PROF=DIR every daemon writes a V8 CPU
// profile into DIR/<name>/ when it stops; `nodeOptions` go to every daemon's Node.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { NodeProcess, runQuloud } from '../test/helpers/node-process.ts'

export interface DaemonFederation {
  owner: NodeProcess
  storage: NodeProcess[]
  /** Runs `quloud ARGS --data-dir <owner>`; resolves to stdout, throws on a non-zero exit. */
  quloud (args: string[]): Promise<string>
  stop (): Promise<void>
}

export async function startDaemonFederation (dir: string, storageNodes: number, nodeOptions: string[] = []): Promise<DaemonFederation> {
  const federation = `bench-${randomBytes(4).toString('hex')}`
  const started: NodeProcess[] = []
  const start = async (name: string, extra: string[]): Promise<NodeProcess> => {
    const init = await runQuloud(['init', '--json', '--data-dir', join(dir, name)])
    if (init.code !== 0) throw new Error(init.stderr)
    const prof = process.env.BENCH_PROF
    const options = [...nodeOptions, ...(prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(prof, name)}`])]
    const env = options.length === 0 ? {} : { NODE_OPTIONS: options.join(' ') }
    const node = await NodeProcess.start({ dataDir: join(dir, name), env, args: ['--federation', federation, '--no-mdns', '--capacity', '64GiB', ...extra] })
    started.push(node)
    return node
  }
  const stop = async (): Promise<void> => {
    for (const node of started) await node.stop(30_000)
  }
  try {
    const seed = await start('s0', [])
    const seedStatus = JSON.parse((await runQuloud(['status', '--json', '--data-dir', seed.dataDir])).stdout)
    const bootstrap = ['--bootstrap', ...seedStatus.addresses.filter((a: string) => a.includes('127.0.0.1'))]
    const storage = [seed]
    for (let i = 1; i < storageNodes; i++) storage.push(await start(`s${i}`, bootstrap))
    const owner = await start('owner', bootstrap)
    // the storage nodes are friends' boxes that trust the owner, as the README sets them
    // up: a stranger's allowance (newcomerAllowance, 256 MiB) would end a 1 GiB put
    for (const node of storage) {
      const trusted = await runQuloud(['trust', 'add', owner.peerId, '--quota', '1TiB', '--name', 'owner', '--data-dir', node.dataDir])
      if (trusted.code !== 0) throw new Error(`quloud trust add failed: ${trusted.stderr}`)
    }
    const quloud = async (args: string[]): Promise<string> => {
      const result = await runQuloud([...args, '--data-dir', owner.dataDir], { timeoutMs: 3_600_000 })
      if (result.code !== 0) throw new Error(`quloud ${args[0]} failed (${result.code}): ${result.stderr}\nowner log:\n${owner.stderr.slice(-4000)}`)
      return result.stdout
    }
    for (let i = 0; JSON.parse(await quloud(['peers', '--json'])).live < storageNodes; i++) {
      if (i > 120) throw new Error('the federation did not form')
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    return { owner, storage, quloud, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Resident set now and its high-water mark, in MB, from /proc. */
export async function rssOf (pid: number): Promise<{ rssMb: number, peakMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024
  return { rssMb: kb('VmRSS'), peakMb: kb('VmHWM') }
}

/** Seconds `work` took. */
export async function timed (work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint()
  await work()
  return secondsSince(start)
}

/** Seconds since `from` (a process.hrtime.bigint()). */
export function secondsSince (from: bigint): number {
  return Number(process.hrtime.bigint() - from) / 1e9
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc. */
export async function cpuSecondsOf (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // fields after the parenthesised command name; utime and stime are the 14th and 15th
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}
