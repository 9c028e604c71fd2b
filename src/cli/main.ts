import { exitOnBrokenPipe, processIo } from './io.ts'
import { runCli } from './program.ts'

exitOnBrokenPipe()
process.exitCode = await runCli(process.argv.slice(2), processIo)
// libp2p and snarkjs may leave timers or worker threads behind after a command
if (process.argv[2] !== 'start' || process.exitCode !== 0) setTimeout(() => process.exit(), 50).unref()
