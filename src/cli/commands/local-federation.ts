import { InvalidArgumentError, type Command } from 'commander'
import type { CliIo } from '../io.ts'
import { positiveArgument } from './arguments.ts'

export interface LocalFederationOptions {
  nodes: number
  keep?: boolean
  json?: boolean
}

/** More would only slow a 2-core laptop to a crawl; a federation to try things needs a few. */
export const MAX_LOCAL_NODES = 12

function nodeCount (value: string): number {
  const n = positiveArgument(value)
  if (n < 2 || n > MAX_LOCAL_NODES) throw new InvalidArgumentError(`must be from 2 to ${MAX_LOCAL_NODES}`)
  return n
}

export function registerLocalFederation (program: Command, io: CliIo): void {
  program.command('local-federation')
    .description('start N nodes on 127.0.0.1 in a temporary folder, in a federation of their own, to try put/get/share; Ctrl-C stops them')
    .option('--nodes <n>', `how many nodes, 2 to ${MAX_LOCAL_NODES}`, nodeCount, 3)
    .option('--keep', 'keep the temporary folder (data directories and logs) after stopping')
    .option('--json', 'print {federation, folder, nodes[]} as one JSON line once every node is up')
    .addHelpText('after', '\nThe nodes listen on loopback only, with mDNS off, and find each other through the first\none. Each node\'s log is in the folder. Drive a node with --data-dir or QULOUD_DATA_DIR,\nas printed once they are up.')
    .action(async (options: LocalFederationOptions) => {
      // the daemons run in their own processes; this one only spawns and watches them
      const { runLocalFederation } = await import('./local-federation-run.ts')
      await runLocalFederation(options, io)
    })
}
