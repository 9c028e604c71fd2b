// The node under attack in the hostile bench: a real `quloud start` daemon in its own
// process on 127.0.0.1 (membership, gossip, allowances and the storage protocols, as
// deployed), plus what the bench reads from /proc about it.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { initNode, NodeProcess, runQuloud } from '../test/helpers/node-process.ts'

export interface Victim {
  node: NodeProcess
  peerId: string
  /** Its 127.0.0.1 addresses, each ending in /p2p/<peer id>. */
  addrs: string[]
  federation: string
  trust (peerId: string): Promise<void>
  stop (): Promise<void>
}

/** `profDir`: where the daemon writes its V8 CPU profile, if anywhere. */
export async function startVictim (dataDir: string, config: Record<string, unknown>, profDir?: string): Promise<Victim> {
  const federation = `hostile-${randomBytes(4).toString('hex')}`
  await initNode(dataDir, { federation, mdns: false, dhtMode: 'server', ...config })
  const env = profDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` }
  const node = await NodeProcess.start({ dataDir, env })
  try {
    const status = JSON.parse((await runQuloud(['status', '--json', '--data-dir', dataDir])).stdout) as { addresses: string[] }
    const addrs = status.addresses.filter((a) => a.includes('/ip4/127.0.0.1/'))
    return {
      node,
      peerId: node.peerId,
      addrs,
      federation,
      trust: async (peerId) => {
        const added = await runQuloud(['trust', 'add', peerId, '--quota', '1TiB', '--name', 'honest', '--data-dir', dataDir])
        if (added.code !== 0) throw new Error(`quloud trust add failed: ${added.stderr}`)
      },
      stop: async () => { await node.stop(30_000) }
    }
  } catch (err) {
    await node.stop()
    throw err
  }
}

/** Starts the high-water mark over at the current resident set (Linux: clear_refs 5), so each phase has its own peak. */
export async function resetPeakRss (pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5')
}
