import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { constants, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { callApi, findDaemon } from '../../adapters/control-api/control-api-client.ts'
import type { PeersResponse } from '../../app/federation-status.ts'
import type { NodeStatus } from '../../app/node-status.ts'
import { FILES } from '../../adapters/data-dir/data-dir-layout.ts'
import { defineError } from '../../errors.ts'
import type { CliIo } from '../io.ts'
import type { LocalFederationOptions } from './local-federation.ts'

/** A node of the local federation did not start, or exited while the others ran. */
export const LocalFederationError = defineError('LocalFederationError', 'local-federation')

const MAIN = resolve(import.meta.dirname, '../main.ts')
const BIN = resolve(import.meta.dirname, '../../../bin/quloud')
/** A daemon starts in about a second; on a loaded 2-core machine it has taken over 30. */
const START_LIMIT_MS = 120_000
/** How long the nodes get to see each other before the instructions are printed anyway. */
const PEERS_LIMIT_MS = 120_000
/** Beyond the daemon's own 4 s shutdown limit: then SIGKILL. */
const STOP_LIMIT_MS = 10_000

interface LocalNode {
  number: number
  name: string
  dataDir: string
  log: string
  peerId: string
  address: string
  api: string
  child?: ChildProcess
  exited?: Promise<number | null>
}

/**
 * Starts `options.nodes` daemons on 127.0.0.1 (ephemeral ports, mDNS off, the others
 * bootstrapped from the first) in a new temporary folder, in a federation named for
 * this run, prints how to drive each, and runs until SIGINT, SIGTERM or SIGHUP. Then it
 * stops every daemon (SIGTERM, SIGKILL after STOP_LIMIT_MS) and removes the folder
 * unless `keep`. The daemons get a process group of their own, so a Ctrl-C reaches
 * this process alone and each daemon gets exactly one SIGTERM from it.
 */
export async function runLocalFederation (options: LocalFederationOptions, io: CliIo): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'quloud-local-'))
  const federation = `local-${randomBytes(4).toString('hex')}`
  const nodes: LocalNode[] = []
  const stop = new AbortController()
  let failure: unknown
  const onSignal = (signal: string): void => {
    if (stop.signal.aborted) return
    io.err(`\n${signal}: stopping the local federation\n`)
    stop.abort()
  }
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  for (const s of signals) process.on(s, onSignal)
  try {
    await startNodes(options.nodes, folder, federation, nodes, stop.signal)
    if (!stop.signal.aborted) {
      const seen = await waitForPeers(nodes, stop.signal)
      if (options.json === true) io.out(JSON.stringify({ federation, folder, nodes: nodes.map(({ child, exited, number, ...shown }) => ({ ...shown, pid: child?.pid })) }) + '\n')
      else io.out(instructions(federation, folder, nodes, seen))
    }
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) return resolve()
      stop.signal.addEventListener('abort', () => resolve(), { once: true })
      for (const node of nodes) {
        void node.exited?.then((code) => {
          if (stop.signal.aborted) return
          failure = new LocalFederationError(`${node.name} exited with ${code} while the federation ran; its log: ${node.log}`)
          stop.abort()
        })
      }
    })
  } catch (err) {
    failure = err
  } finally {
    for (const s of signals) process.off(s, onSignal)
    await Promise.all(nodes.map(async (node) => stopNode(node)))
    if (options.keep === true) io.err(`kept ${folder}\n`)
    else await rm(folder, { recursive: true, force: true })
  }
  if (failure !== undefined) throw failure
}

/** The first node, then the others bootstrapped from its loopback address, all at once. */
async function startNodes (count: number, folder: string, federation: string, nodes: LocalNode[], signal: AbortSignal): Promise<void> {
  // each owner's peers are the others: the default three copies need four nodes, and a
  // newcomer's first put should not warn that it is under-replicated
  const scheme = ['--set', `erasure=replicas:${Math.min(3, count - 1)}`]
  const first = await startNode(folder, 1, federation, scheme, nodes, signal)
  if (first === undefined) return
  const started = await Promise.allSettled(Array.from({ length: count - 1 }, async (_, i) => startNode(folder, i + 2, federation, [...scheme, '--bootstrap', first.address], nodes, signal)))
  nodes.sort((a, b) => a.number - b.number)
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed !== undefined) throw failed.reason
}

/** `init` then `start` of node N; undefined when a stop was asked for meanwhile. */
async function startNode (folder: string, n: number, federation: string, extra: string[], nodes: LocalNode[], signal: AbortSignal): Promise<LocalNode | undefined> {
  const name = `node${n}`
  const dataDir = join(folder, name)
  const init = await runCommand(['init', '--data-dir', dataDir, '--json', '--federation', federation,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--no-mdns', ...extra])
  if (init.code !== 0) throw new LocalFederationError(`quloud init of ${name} failed (exit ${init.code}): ${init.stderr.trim()}`)
  if (signal.aborted) return undefined
  const node: LocalNode = { number: n, name, dataDir, log: join(folder, `${name}.log`), peerId: JSON.parse(init.stdout).peerId, address: '', api: '' }
  const fd = openSync(node.log, 'a')
  try {
    node.child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'start', '--data-dir', dataDir],
      { stdio: ['ignore', fd, fd], detached: true })
  } finally {
    closeSync(fd)
  }
  const child = node.child
  node.exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig === null ? null : 128 + constants.signals[sig]))))
  nodes.push(node)
  let exitCode: number | null | undefined
  void node.exited.then((code) => { exitCode = code })
  const deadline = Date.now() + START_LIMIT_MS
  while (!signal.aborted) {
    const info = await readFile(join(dataDir, FILES.api), 'utf8').then(JSON.parse, () => undefined)
    if (info?.pid === child.pid) {
      node.api = info.url
      const status = await callApi<NodeStatus>(await findDaemon(dataDir), 'GET', '/v1/status')
      node.address = status.addresses.find((a) => a.startsWith('/ip4/127.0.0.1/')) ?? status.addresses[0] ?? ''
      return node
    }
    if (exitCode !== undefined) throw new LocalFederationError(`${name} exited with ${exitCode} before it was up; its log: ${node.log}`)
    if (Date.now() > deadline) throw new LocalFederationError(`${name} was not up after ${START_LIMIT_MS / 1000} s; its log: ${node.log}`)
    await sleep(100)
  }
  return undefined
}

/** Waits until every node sees all the others live; false when PEERS_LIMIT_MS ran out first. */
async function waitForPeers (nodes: LocalNode[], signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + PEERS_LIMIT_MS
  while (!signal.aborted && Date.now() < deadline) {
    const live = await Promise.all(nodes.map(async (node) => {
      const peers = await callApi<PeersResponse>(await findDaemon(node.dataDir), 'GET', '/v1/peers').catch(() => undefined)
      return peers?.live ?? 0
    }))
    if (live.every((n) => n >= nodes.length - 1)) return true
    await sleep(500)
  }
  return false
}

async function stopNode (node: LocalNode): Promise<void> {
  const child = node.child
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_LIMIT_MS)
  try {
    await node.exited
  } finally {
    clearTimeout(timer)
  }
}

async function runCommand (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (part: string) => { stdout += part })
  child.stderr.setEncoding('utf8').on('data', (part: string) => { stderr += part })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (exit) => resolve(exit))
  })
  return { code, stdout, stderr }
}

function instructions (federation: string, folder: string, nodes: LocalNode[], seen: boolean): string {
  const first = nodes[0]!.dataDir
  const second = nodes[1]!.dataDir
  return [
    `Local federation ${federation}: ${nodes.length} nodes on 127.0.0.1, in ${folder}`,
    ...nodes.map((n) => `  ${n.name}  ${n.address}\n         data ${n.dataDir}  log ${n.log}`),
    seen ? `Every node sees the other ${nodes.length - 1}.` : `Not every node sees the others yet (after ${PEERS_LIMIT_MS / 1000} s); \`quloud peers\` shows who is found.`,
    `Try, in another terminal (quloud is ${BIN}):`,
    `  export QULOUD_DATA_DIR=${first}`,
    '  quloud put README.md                  # encrypted, stored on the other nodes',
    '  quloud ls',
    '  quloud get README.md -o /tmp/README.copy',
    '  quloud share README.md                # prints a code',
    `  quloud receive CODE -o /tmp/README.received --data-dir ${second}`,
    '  quloud status; quloud peers',
    'Ctrl-C stops every node and removes the folder (--keep keeps it).',
    ''
  ].join('\n')
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
