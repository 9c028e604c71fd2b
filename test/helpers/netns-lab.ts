import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { collect } from './node-process.ts'

const run = promisify(execFile)

/** Every lab namespace is named `qnat-<creator pid>-<role>`, so a crashed run's leftovers can be told apart and removed. */
const PREFIX = 'qnat-'

/** The tools a lab needs, by Debian package. */
const PACKAGES: Record<string, string> = { iptables: 'iptables', tc: 'iproute2', ip: 'iproute2' }

/**
 * Why network namespaces cannot be made here, or undefined when they can. When root
 * and a tool is missing, it is installed with apt-get first (CI machines start bare).
 */
export function labUnavailable (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'the NAT lab needs root (ip netns, iptables)'
  const missing = Object.keys(PACKAGES).filter((tool) => !has(tool))
  if (missing.length > 0) {
    try {
      execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', timeout: 300_000 })
      execFileSync('apt-get', ['install', '-y', '-q', ...new Set(missing.map((t) => PACKAGES[t]!))], {
        stdio: 'ignore', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
      })
    } catch (err) {
      return `cannot install ${missing.join(', ')} with apt-get: ${(err as Error).message}`
    }
  }
  const still = Object.keys(PACKAGES).filter((tool) => !has(tool))
  if (still.length > 0) return `missing tools: ${still.join(', ')}`
  const probe = `${PREFIX}${process.pid}-probe`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' })
  } catch (err) {
    return `ip netns add fails here (a container without CAP_SYS_ADMIN?): ${(err as Error).message}`
  }
  return undefined
}

/**
 * Why the lab cannot have a UPnP router here, or undefined when it can: Debian's
 * miniupnpd with the nftables backend (installed with apt-get when root and missing).
 */
export function upnpUnavailable (): string | undefined {
  const ready = (): boolean => has('nft') && has('miniupnpd') && /nftables/.test(versionOf('miniupnpd'))
  if (ready()) return undefined
  if (process.getuid?.() !== 0) return 'installing miniupnpd needs root'
  try {
    execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', timeout: 300_000 })
    execFileSync('apt-get', ['install', '-y', '-q', 'nftables', 'miniupnpd-nftables'], {
      stdio: 'ignore', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    })
  } catch (err) {
    return `cannot install miniupnpd-nftables with apt-get: ${(err as Error).message}`
  }
  return ready() ? undefined : 'miniupnpd with the nftables backend is not available'
}

function versionOf (tool: string): string {
  try {
    return execFileSync(tool, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
  } catch (err) {
    const e = err as { stdout?: string, stderr?: string }
    return `${e.stdout ?? ''}${e.stderr ?? ''}`
  }
}

function has (tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Kills what still runs inside a lab namespace (daemons a killed run left behind: the
 * lab made them, nothing else runs there) and deletes it with its interfaces and rules.
 */
async function deleteNamespace (name: string): Promise<void> {
  await run('ip', ['netns', 'pids', name]).then(({ stdout }) => {
    for (const pid of stdout.split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL') } catch {}
    }
  }).catch(() => {})
  await run('ip', ['netns', 'del', name]).catch(() => {})
}

/** Removes namespaces left by lab runs whose process is gone (a killed CI job). */
export async function sweepStaleLabs (): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list'])
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const match = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)
    if (match === null) continue
    const pid = Number(match[1])
    if (pid === process.pid || alive(pid)) continue
    await deleteNamespace(name)
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * A set of network namespaces joined by veth pairs, with nothing connected to the
 * machine's own namespace: traffic cannot leave the lab. Interfaces are created
 * directly inside their namespaces, so their names need not be unique per run.
 */
export class NetnsLab {
  private readonly tag: string
  private readonly made: string[] = []
  private readonly daemons: ChildProcess[] = []

  constructor (tag = `${process.pid}`) {
    this.tag = tag
  }

  /** The full namespace name of a role. */
  ns (role: string): string {
    return `${PREFIX}${this.tag}-${role}`
  }

  /** A new namespace with loopback up (the control API listens there). */
  async addNamespace (role: string): Promise<string> {
    const name = this.ns(role)
    await run('ip', ['netns', 'add', name])
    this.made.push(name)
    await this.exec(role, ['ip', 'link', 'set', 'lo', 'up'])
    return name
  }

  /** Runs a command inside a namespace; rejects with its stderr when it fails. */
  async exec (role: string, argv: string[]): Promise<string> {
    try {
      const { stdout } = await run('ip', ['netns', 'exec', this.ns(role), ...argv], { maxBuffer: 16 << 20 })
      return stdout
    } catch (err) {
      const e = err as Error & { stderr?: string }
      throw new Error(`in ${role}: ${argv.join(' ')}: ${e.stderr ?? e.message}`, { cause: err })
    }
  }

  async bridge (role: string, name: string, address?: string): Promise<void> {
    await this.exec(role, ['ip', 'link', 'add', name, 'type', 'bridge'])
    if (address !== undefined) await this.exec(role, ['ip', 'addr', 'add', address, 'dev', name])
    await this.exec(role, ['ip', 'link', 'set', name, 'up'])
  }

  /**
   * A veth pair from `a` (interface `aIf`, optionally with `aAddr` as CIDR) to `b`,
   * where `bIf` is either given an address or enslaved to bridge `bBridge`.
   */
  async link (a: { role: string, ifname: string, address?: string }, b: { role: string, ifname: string, address?: string, bridge?: string }): Promise<void> {
    await run('ip', ['-n', this.ns(a.role), 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', this.ns(b.role)])
    if (a.address !== undefined) await this.exec(a.role, ['ip', 'addr', 'add', a.address, 'dev', a.ifname])
    if (b.address !== undefined) await this.exec(b.role, ['ip', 'addr', 'add', b.address, 'dev', b.ifname])
    if (b.bridge !== undefined) await this.exec(b.role, ['ip', 'link', 'set', b.ifname, 'master', b.bridge])
    await this.exec(a.role, ['ip', 'link', 'set', a.ifname, 'up'])
    await this.exec(b.role, ['ip', 'link', 'set', b.ifname, 'up'])
  }

  async defaultRoute (role: string, via: string): Promise<void> {
    await this.exec(role, ['ip', 'route', 'add', 'default', 'via', via])
  }

  /**
   * Makes `role` a NAT router from `lan` to `wan`. `endpoint-independent`: Linux
   * MASQUERADE keeps the source port where it can, so one internal port maps to one
   * external port whatever the destination (what hole punching needs). `symmetric`:
   * `--random-fully` picks a new external port for every connection, as carrier-grade
   * and many mobile NATs do. Both filter inbound traffic to replies (conntrack).
   */
  async natRouter (role: string, { wan, lan, kind }: { wan: string, lan: string, kind: 'endpoint-independent' | 'symmetric' }): Promise<void> {
    await this.exec(role, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
    await this.exec(role, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MASQUERADE', ...(kind === 'symmetric' ? ['--random-fully'] : [])])
    // where br_netfilter is loaded (Docker loads it), frames between two LAN hosts on the
    // bridge pass this FORWARD chain too: without this rule the DROP policy cuts the LAN
    await this.exec(role, ['iptables', '-A', 'FORWARD', '-i', lan, '-o', lan, '-j', 'ACCEPT'])
    await this.exec(role, ['iptables', '-A', 'FORWARD', '-i', lan, '-o', wan, '-j', 'ACCEPT'])
    await this.exec(role, ['iptables', '-A', 'FORWARD', '-i', wan, '-o', lan, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED,DNAT', '-j', 'ACCEPT'])
    await this.exec(role, ['iptables', '-P', 'FORWARD', 'DROP'])
  }

  /**
   * Makes `role` a home router with a UPnP IGD: Debian's miniupnpd (nftables backend)
   * listening on `lan`, mapping ports on `wan` into the same nftables chains that
   * masquerade LAN traffic (endpoint-independent mapping) and drop unsolicited inbound
   * traffic. Only LAN hosts in `lanNet` may map, ports 1024-65535, each for itself.
   * The daemon runs inside the namespace and goes with it (deleteNamespace).
   */
  async upnpRouter (role: string, { wan, lan, lanNet, dir }: { wan: string, lan: string, lanNet: string, dir: string }): Promise<void> {
    await this.exec(role, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
    const ruleset = join(dir, `${role}.nft`)
    await writeFile(ruleset, [
      'table inet filter {',
      '  chain forward {',
      '    type filter hook forward priority 0; policy drop;',
      `    iifname "${lan}" accept`,
      '    ct state established,related accept',
      '    jump miniupnpd',
      '  }',
      '  chain miniupnpd {',
      '  }',
      '  chain prerouting {',
      '    type nat hook prerouting priority -100; policy accept;',
      '    jump prerouting_miniupnpd',
      '  }',
      '  chain postrouting {',
      '    type nat hook postrouting priority 100; policy accept;',
      '    jump postrouting_miniupnpd',
      `    oifname "${wan}" masquerade`,
      '  }',
      '  chain prerouting_miniupnpd {',
      '  }',
      '  chain postrouting_miniupnpd {',
      '  }',
      '}',
      ''
    ].join('\n'))
    await this.exec(role, ['nft', '-f', ruleset])
    const conf = join(dir, `${role}-miniupnpd.conf`)
    await writeFile(conf, [
      `ext_ifname=${wan}`,
      `listening_ip=${lan}`,
      'port=0',
      'enable_natpmp=no',
      'enable_upnp=yes',
      'secure_mode=yes',
      'system_uptime=yes',
      `uuid=${randomUUID()}`,
      'upnp_table_name=filter',
      'upnp_nat_table_name=filter',
      'upnp_forward_chain=miniupnpd',
      'upnp_nat_chain=prerouting_miniupnpd',
      'upnp_nat_postrouting_chain=postrouting_miniupnpd',
      `allow 1024-65535 ${lanNet} 1024-65535`,
      'deny 0-65535 0.0.0.0/0 0-65535',
      ''
    ].join('\n'))
    const daemon = spawn('ip', ['netns', 'exec', this.ns(role), 'miniupnpd', '-d', '-f', conf, '-P', join(dir, `${role}-miniupnpd.pid`)], { stdio: ['ignore', 'ignore', 'pipe'] })
    const log = collect(daemon.stderr!).text
    this.daemons.push(daemon)
    // ready once it listens for SSDP; an exit before that is a setup failure with its log
    const deadline = Date.now() + 30_000
    while (!/Listening for NAT-PMP|HTTP listening on port|SSDP/i.test(log())) {
      if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`miniupnpd in ${role} did not start:\n${log()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** A port forward on a NAT router: TCP `wanPort` on `wan` to `to` (ip:port). */
  async portForward (role: string, { wan, wanPort, to }: { wan: string, wanPort: number, to: string }): Promise<void> {
    await this.exec(role, ['iptables', '-t', 'nat', '-A', 'PREROUTING', '-i', wan, '-p', 'tcp', '--dport', String(wanPort), '-j', 'DNAT', '--to-destination', to])
  }

  /** Shapes egress of `ifname` in `role` to `rate` (tc syntax, e.g. 10mbit) with a token bucket filter. */
  async shape (role: string, ifname: string, rate: string): Promise<void> {
    await this.exec(role, ['tc', 'qdisc', 'add', 'dev', ifname, 'root', 'tbf', 'rate', rate, 'burst', '32kb', 'latency', '400ms'])
  }

  /** Bytes sent on an interface (counter from /sys inside the namespace). */
  async txBytes (role: string, ifname: string): Promise<number> {
    return Number((await this.exec(role, ['cat', `/sys/class/net/${ifname}/statistics/tx_bytes`])).trim())
  }

  /** Deletes every namespace this lab made; their interfaces, bridges and rules go with them. */
  async destroy (): Promise<void> {
    for (const daemon of this.daemons.splice(0)) daemon.kill('SIGKILL')
    for (const name of this.made.splice(0).reverse()) await deleteNamespace(name)
  }
}
