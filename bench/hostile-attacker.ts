// A hostile-bench attacker in its own process: `hostile-attacker.ts CLASS TARGET_JSON`
// runs one attack of bench/hostile-attacks.ts against the target. Prints "ready" once
// the attack runs, and on SIGTERM stops it and prints what it did as one JSON line.
import { once } from 'node:events'
import net from 'node:net'
import { ATTACKS, type AttackTarget } from './hostile-attacks.ts'

// the attacker's own host, as a remote attacker has its own address: every connection
// it makes leaves from 127.0.0.3, so the daemon's per-host limits see it apart from the
// honest peer (127.0.0.1); libp2p's TCP transport dials through net.connect
const connect = net.connect.bind(net) as (...args: unknown[]) => net.Socket
;(net as { connect: unknown }).connect = (options: unknown, ...rest: unknown[]) =>
  typeof options === 'object' && options !== null ? connect({ localAddress: '127.0.0.3', ...options }, ...rest) : connect(options, ...rest)

const [name, targetJson] = process.argv.slice(2)
const attack = ATTACKS[name!]
if (attack === undefined) throw new Error(`no attack ${name}; one of ${Object.keys(ATTACKS).join(', ')}`)
const running = await attack(JSON.parse(targetJson!) as AttackTarget)
process.stdout.write('ready\n')
await once(process, 'SIGTERM')
process.stdout.write(JSON.stringify(await running.stop()) + '\n')
process.exit(0)
