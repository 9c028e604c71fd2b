import type { Command } from 'commander'
import { callApi, findDaemon } from '../../adapters/control-api/control-api-client.ts'
import { resolveDataDir } from '../../adapters/data-dir/data-dir-layout.ts'
import type { PeerAllowance } from '../../app/admission/allowances.ts'
import type { PeersResponse, PeerView } from '../../app/federation-status.ts'
import { formatSize } from '../../domain/config/size.ts'
import type { CliIo } from '../io.ts'

export interface PeersOptions {
  dataDir?: string
  json?: boolean
}

/** Asks the running daemon for its peer book: every federation peer with liveness and capacity. */
export async function runPeers (options: PeersOptions, io: CliIo, now: () => number = Date.now): Promise<PeersResponse & { allowances: PeerAllowance[] }> {
  const dataDir = resolveDataDir(options.dataDir, io.env)
  const daemon = await findDaemon(dataDir)
  const answer = {
    ...await callApi<PeersResponse>(daemon, 'GET', '/v1/peers'),
    allowances: (await callApi<{ peers: PeerAllowance[] }>(daemon, 'GET', '/v1/allowances')).peers
  }
  if (options.json === true) {
    io.out(JSON.stringify(answer, null, 2) + '\n')
    return answer
  }
  const { sent, accepted, rejected, ignored } = answer.announcements
  const lines = [
    `Federation ${answer.federation}: ${answer.peers.length} peers known, ${answer.live} live (proof system ${answer.proofSystemId})`,
    `Announcements: ${sent} sent, ${accepted} accepted, ${rejected} rejected, ${ignored} ignored`
  ]
  if (answer.peers.length > 0) {
    const siteWidth = Math.max(4, ...answer.peers.map((p) => p.site?.length ?? 0))
    lines.push('', ['PEER'.padEnd(52), 'REACHABLE', 'CONN', 'RTT'.padStart(7), 'UPTIME', 'FREE / CAPACITY'.padEnd(24), 'SITE'.padEnd(siteWidth), 'LAST SEEN'].join('  '))
    for (const peer of answer.peers) lines.push(row(peer, now(), siteWidth))
  }
  if (answer.allowances.length > 0) {
    lines.push('', ['PEER'.padEnd(52), 'STANDING'.padEnd(10), 'ALLOWANCE'.padStart(10), 'STORES HERE'.padStart(11), 'WE STORE THERE'.padStart(14), 'ROOM THERE'.padStart(10), 'NAME'].join('  '))
    for (const a of answer.allowances) {
      const room = a.roomThere === undefined ? '-' : formatSize(a.roomThere.bytes)
      lines.push([a.peerId.padEnd(52), a.standing.padEnd(10), formatSize(a.allowance).padStart(10), formatSize(a.storesHere).padStart(11), formatSize(a.weStoreThere).padStart(14), room.padStart(10), a.name ?? ''].join('  '))
    }
    lines.push('', federationRoomLine(answer.allowances, now()))
  }
  io.out(lines.join('\n') + '\n')
  return answer
}

/**
 * How much the federation will still take from this owner: the sum of what each peer
 * said at our latest store there. It is what peers said, not a promise, and says
 * nothing of peers we never stored on.
 */
export function federationRoomLine (allowances: PeerAllowance[], now: number): string {
  const said = allowances.filter((a) => a.roomThere !== undefined)
  if (said.length === 0) return 'Room the federation still offers us: not known yet (peers say it when we store there)'
  const total = said.reduce((sum, a) => sum + a.roomThere!.bytes, 0)
  const oldest = Math.min(...said.map((a) => a.roomThere!.atMs))
  return `Room the federation still offers us: ${formatSize(total)} on ${said.length} peer(s), as they said at our latest store (oldest ${ago(now - oldest)})`
}

function row (peer: PeerView, now: number, siteWidth: number): string {
  const { liveness, announcement } = peer
  const rtt = liveness.lastRttMs === null ? '-' : `${Math.round(liveness.lastRttMs)} ms`
  const uptime = liveness.probes === 0 ? '-' : `${Math.round(peer.uptimeRatio * 100)}%`
  const offer = announcement === null ? '-' : `${formatSize(announcement.free)} / ${formatSize(announcement.capacity)}`
  return [
    peer.peerId.padEnd(52),
    (liveness.reachable ? 'yes' : liveness.probes === 0 ? 'not yet' : 'no').padEnd(9),
    (peer.connected ? 'yes' : 'no').padEnd(4),
    rtt.padStart(7),
    uptime.padStart(6),
    offer.padEnd(24),
    (peer.site ?? '-').padEnd(siteWidth),
    ago(now - peer.lastSeen)
  ].join('  ')
}

function ago (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s} s ago`
  if (s < 7200) return `${Math.round(s / 60)} min ago`
  return `${Math.round(s / 3600)} h ago`
}

export function registerPeers (program: Command, io: CliIo): void {
  program.command('peers')
    .description('list the federation peers the daemon knows: liveness, round-trip time, uptime, free capacity; then each peer\'s allowance here, what it stores here and what we store there')
    .option('--data-dir <dir>', 'data directory (default: $QULOUD_DATA_DIR or ~/.local/share/quloud)')
    .option('--json', 'print JSON')
    .action(async (options: PeersOptions) => { await runPeers(options, io) })
}
