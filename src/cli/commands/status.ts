import type { Command } from 'commander'
import { callApi, findDaemon } from '../../adapters/control-api/control-api-client.ts'
import { resolveDataDir } from '../../adapters/data-dir/data-dir-layout.ts'
import type { NetworkStatus, Reachability } from '../../app/federation-status.ts'
import type { NodeStatus } from '../../app/node-status.ts'
import type { RepairQueue } from '../../app/owner/repair-service.ts'
import type { WorkQueue } from '../../app/owner/work-in-flight.ts'
import { formatSize } from '../../domain/config/size.ts'
import type { CliIo } from '../io.ts'

export interface StatusOptions {
  dataDir?: string
  json?: boolean
}

/** Asks the running daemon of the data directory how it is. */
export async function runStatus (options: StatusOptions, io: CliIo): Promise<void> {
  const dataDir = resolveDataDir(options.dataDir, io.env)
  const status = await callApi<NodeStatus & { repair?: RepairQueue, work?: WorkQueue }>(await findDaemon(dataDir), 'GET', '/v1/status')
  if (options.json === true) {
    io.out(JSON.stringify(status, null, 2) + '\n')
    return
  }
  io.out([
    `Peer id:    ${status.peerId}`,
    `Version:    ${status.version}`,
    `Data dir:   ${status.dataDir}`,
    `Uptime:     ${status.uptimeSeconds} s (since ${status.startedAt})`,
    `Capacity:   ${formatSize(status.capacity)} offered, ${formatSize(status.usedBytes)} used`,
    'Addresses:',
    ...status.addresses.map((a) => `  ${a}`),
    ...(status.network === undefined ? [] : networkLines(status.network)),
    ...(status.repair === undefined ? [] : [repairLine(status.repair)]),
    ...(status.work === undefined ? [] : [workLine(status.work)])
  ].join('\n') + '\n')
}

function networkLines (n: NetworkStatus): string[] {
  const onOff = (on: boolean): string => on ? 'on' : 'off'
  return [
    `Federation: ${n.federation} (DHT ${n.dhtMode} mode, mDNS ${onOff(n.mdns)}, ${n.bootstrap.length} bootstrap peers)`,
    `Peers:      ${n.peers.connected} connected, ${n.peers.known} in the peer book, ${n.peers.live} live, ${n.peers.dht} in the DHT routing table`,
    `Reachable:  ${reachabilityWords(n.reachability)}`,
    `            (AutoNAT ${onOff(n.autonat.enabled)}, UPnP ${onOff(n.upnp)}, relay server ${onOff(n.relayServer)})`,
    `Traffic:    upload ${rate(n.traffic.upload)}, download ${rate(n.traffic.download)}` +
      (n.traffic.upload === null && n.traffic.download === null ? '' : ` (${formatSize(n.traffic.sent)} sent, ${formatSize(n.traffic.received)} received)`),
    ...(n.observed.length === 0 ? [] : ['Observed by peers:', ...n.observed.map((o) => `  ${o.address}${o.verified ? ' (confirmed)' : ''}`)]),
    ...(n.relay.length === 0 ? [] : ['Relayed:', ...n.relay.map((a) => `  ${a}`)])
  ]
}

function repairLine (q: RepairQueue): string {
  const running = q.running.length === 0 ? '' : `, checking ${q.running.length} now`
  const distrusted = q.distrusted.length === 0 ? '' : `, ${q.distrusted.length} holder(s) failed an audit`
  return `Repair:     ${q.degraded} of ${q.files} known file(s) degraded (${q.waiting} waiting for repairAfter)${running}, ${q.repairedShards} shard(s) rebuilt, ${q.deletions} old holder(s) to clean up${distrusted}`
}

/** The journal's queue in words (what `finish` does in the background). */
export function workLine (w: WorkQueue): string {
  const running = w.running === 0 ? '' : `${w.running} put(s) under way, `
  const unfinished = w.unfinished === 0 ? 'no unfinished put' : `${w.unfinished} unfinished put(s) of ${w.unfinishedFiles} file(s) to clean up`
  const deletes = w.deletes === 0 ? 'no delete owed' : `${w.deleteRecords} record(s) to delete on ${w.deleteHolders} holder(s) once they answer`
  return `Work:       ${running}${unfinished}, ${deletes}`
}

function rate (bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? 'unlimited' : `at most ${formatSize(bytesPerSecond)}/s`
}

function reachabilityWords (r: Reachability): string {
  const at = r.addresses.length === 0 ? '' : ` at ${r.addresses.join(', ')}`
  switch (r.state) {
    case 'public': return `yes${at}: ${r.why}`
    case 'configured': return `not confirmed${at}: ${r.why}`
    case 'unconfirmed': return `not confirmed${at}: ${r.why}`
    case 'relayed': return `through a relay only: ${r.why}`
    case 'none': return `no: ${r.why}`
  }
}

export function registerStatus (program: Command, io: CliIo): void {
  program.command('status')
    .description('show the running daemon: peer id, addresses, reachability, peers, capacity, used bytes, version')
    .option('--data-dir <dir>', 'data directory (default: $QULOUD_DATA_DIR or ~/.local/share/quloud)')
    .option('--json', 'print JSON')
    .action(async (options: StatusOptions) => runStatus(options, io))
}
