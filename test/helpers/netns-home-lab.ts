import { join } from 'node:path'
import { NetnsLab, sweepStaleLabs } from './netns-lab.ts'
import { NetnsNode } from './netns-node.ts'
import { initNode } from './node-process.ts'

/** The port every lab node listens on (each namespace has its own stack). */
export const LAB_PORT = 4101
/** Home A's router forwards this TCP port on its WAN address to a2. */
export const LAB_FORWARDED_PORT = 4102
/**
 * The lab's "internet": 11.0.0.0/16, one flat segment. libp2p (and `quloud status`)
 * treat documentation ranges as private, so with them no address is ever offered for
 * hole punching, dialled back by AutoNAT or mapped by UPnP; this block is ordinary
 * public unicast space to both. The namespaces have no link to the machine's own
 * network, so no packet can leave. Each public host is in a /24 of its own (11.0.H.1),
 * as hosts of the internet mostly are: with all of them in one /24, the node's
 * per-subnet allowances (new streams, new connections) took the whole lab for one
 * host's network and were shared by every peer, AutoNAT's dial-backs included.
 */
export const LAB_PUBLIC_NET = '11.0'
/** `${LAB_PUBLIC_NET}.H.1`: public host H, alone in its /24. */
export const labPublic = (host: number | string): string => `${LAB_PUBLIC_NET}.${host}.1`
/** The prefix of every public interface: the /16 makes the /24s one segment, with no router. */
const LAB_PUBLIC_PREFIX = 16

/**
 * The NAT lab's network:
 *
 *   public segment 11.0.0.0/16 (bridge in ns "pub"), each host in its own /24:
 *     boot  11.0.10.1  (bootstrap node)
 *     relay 11.0.11.1  (relay server)
 *     ra    11.0.21.1  home A's router: endpoint-independent NAT, port forward 4102 -> a2
 *     rb    11.0.22.1  home B's router: symmetric NAT (--random-fully)
 *     rc    11.0.23.1  home C's router: endpoint-independent NAT
 *     isp   11.0.24.1  a carrier-grade NAT (endpoint-independent) for 100.64.0.0/24, where
 *       rd  100.64.0.2  home D's router (endpoint-independent NAT) sits
 *     re    11.0.25.1  home E's router (with `upnp`): endpoint-independent NAT and a UPnP IGD (miniupnpd)
 *   home A 192.168.1.0/24: a1 .10, a2 .11;  home B 192.168.2.0/24: b1 .10;  home C 192.168.3.0/24: c1 .10;
 *   home D 192.168.4.0/24: d1 .10 (behind two NATs);  home E 192.168.5.0/24: e1 .10
 *
 * `uplink` (tc rate, e.g. 10mbit) shapes the upload of homes A and C. `upnp` is a
 * directory for miniupnpd's files (check upnpUnavailable() first); without it there is no home E.
 */
export async function buildHomeLab ({ uplink, upnp }: { uplink?: string, upnp?: string } = {}): Promise<NetnsLab> {
  await sweepStaleLabs()
  const lab = new NetnsLab()
  try {
    const roles = ['pub', 'boot', 'relay', 'ra', 'rb', 'rc', 'isp', 'rd', 'a1', 'a2', 'b1', 'c1', 'd1', ...(upnp === undefined ? [] : ['re', 'e1'])]
    for (const role of roles) await lab.addNamespace(role)
    await lab.bridge('pub', 'br0')
    for (const [role, ip] of [['boot', '10'], ['relay', '11']] as const) {
      await lab.link({ role, ifname: 'eth0', address: `${labPublic(ip)}/${LAB_PUBLIC_PREFIX}` }, { role: 'pub', ifname: role, bridge: 'br0' })
    }
    const routers: Array<[string, string, string]> = [['ra', '21', '192.168.1.1/24'], ['rb', '22', '192.168.2.1/24'], ['rc', '23', '192.168.3.1/24'], ['isp', '24', '100.64.0.1/24']]
    if (upnp !== undefined) routers.push(['re', '25', '192.168.5.1/24'])
    for (const [router, ip, lan] of routers) {
      await lab.link({ role: router, ifname: 'wan', address: `${labPublic(ip)}/${LAB_PUBLIC_PREFIX}` }, { role: 'pub', ifname: router, bridge: 'br0' })
      await lab.bridge(router, 'lan', lan)
    }
    await lab.link({ role: 'rd', ifname: 'wan', address: '100.64.0.2/24' }, { role: 'isp', ifname: 'rd', bridge: 'lan' })
    await lab.defaultRoute('rd', '100.64.0.1')
    await lab.bridge('rd', 'lan', '192.168.4.1/24')
    const hosts: Array<[string, string, string, string]> = [['a1', 'ra', '1', '10'], ['a2', 'ra', '1', '11'], ['b1', 'rb', '2', '10'], ['c1', 'rc', '3', '10'], ['d1', 'rd', '4', '10']]
    if (upnp !== undefined) hosts.push(['e1', 're', '5', '10'])
    for (const [host, router, lan, ip] of hosts) {
      await lab.link({ role: host, ifname: 'eth0', address: `192.168.${lan}.${ip}/24` }, { role: router, ifname: host, bridge: 'lan' })
      await lab.defaultRoute(host, `192.168.${lan}.1`)
    }
    await lab.natRouter('ra', { wan: 'wan', lan: 'lan', kind: 'endpoint-independent' })
    await lab.natRouter('rb', { wan: 'wan', lan: 'lan', kind: 'symmetric' })
    await lab.natRouter('rc', { wan: 'wan', lan: 'lan', kind: 'endpoint-independent' })
    await lab.natRouter('isp', { wan: 'wan', lan: 'lan', kind: 'endpoint-independent' })
    await lab.natRouter('rd', { wan: 'wan', lan: 'lan', kind: 'endpoint-independent' })
    await lab.portForward('ra', { wan: 'wan', wanPort: LAB_FORWARDED_PORT, to: `192.168.1.11:${LAB_FORWARDED_PORT}` })
    if (upnp !== undefined) await lab.upnpRouter('re', { wan: 'wan', lan: 'lan', lanNet: '192.168.5.0/24', dir: upnp })
    if (uplink !== undefined) for (const router of ['ra', 'rc']) await lab.shape(router, 'wan', uplink)
    return lab
  } catch (err) {
    await lab.destroy()
    throw err
  }
}

/**
 * `quloud init` a data dir `dir/name` for `federation` with short membership timers (the
 * lab settles in seconds) and `config` on top, then starts it in the lab's namespace `name`.
 */
export async function startLabNode (lab: NetnsLab, dir: string, federation: string, name: string, args: string[],
  config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Promise<NetnsNode> {
  const dataDir = join(dir, name)
  await initNode(dataDir, { federation, announceInterval: 2000, livenessInterval: 2000, pingTimeout: 4000, discoveryInterval: 2000, ...config })
  return NetnsNode.start(name, lab.ns(name), dataDir, args, env)
}
