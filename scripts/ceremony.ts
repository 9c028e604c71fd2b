// The phase-2 ceremony of the ownership-proof key, as a chain anyone can extend and
// check (circuits/README.md). Run: npm run ceremony -- <command>
//
//   start                                   ceremony/0000.zkey from the r1cs and the phase-1 ptau
//   contribute --name "…"                   the next zkey, with fresh entropy
//   beacon --hash HEX --iterations N        the final step; writes the key artefacts and the vector
//   verify [--open]                         checks the whole chain (--open: no beacon yet)
//
// Every command takes --dir (the circuits directory; circuits/ by default).
import { parseArgs } from 'node:util'
import { DEFAULT_CIRCUITS_DIR } from '../src/adapters/proof/artefacts.ts'
import { CeremonyChainError, CeremonyStateError, CeremonyUsageError } from './circuits/ceremony-errors.ts'
import { applyBeacon, contribute, startChain } from './circuits/ceremony-steps.ts'
import { verifyChain } from './circuits/ceremony-verify.ts'
import { DEFAULT_VECTOR_FILE } from './circuits/key-artefacts.ts'
import { formatSnarkjsHash } from './circuits/snarkjs-log.ts'

/** Documented in circuits/README.md; a code's meaning does not change. */
const CEREMONY_EXIT = { ok: 0, chainInvalid: 1, usage: 2, wrongStep: 3, failure: 4 } as const

const USAGE = `usage: npm run ceremony -- <command> [--dir DIR]
  start
  contribute --name NAME
  beacon --hash HEX --iterations N [--name NAME] [--vector FILE]
  verify [--open]`

async function run (argv: string[]): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        name: { type: 'string' },
        hash: { type: 'string' },
        iterations: { type: 'string' },
        vector: { type: 'string' },
        open: { type: 'boolean' }
      }
    })
  } catch (err) {
    throw new CeremonyUsageError(`${(err as Error).message}\n${USAGE}`)
  }
  const { values, positionals } = parsed
  if (positionals.length !== 1) throw new CeremonyUsageError(USAGE)
  const dir = values.dir ?? DEFAULT_CIRCUITS_DIR
  const command = positionals[0]
  if (command === 'start') {
    const transcript = await startChain({ dir })
    console.log(`started: ${transcript.entries[0]!.file}\ncircuit hash:\n${formatSnarkjsHash(transcript.circuitHash)}`)
  } else if (command === 'contribute') {
    if (values.name === undefined) throw new CeremonyUsageError('contribute needs --name "who you are"')
    const entry = await contribute({ dir, name: values.name })
    console.log(`contribution ${entry.index} by ${entry.name}: ${entry.file}\ncontribution hash (publish it; snarkjs zkey verify prints the same):\n${formatSnarkjsHash(entry.contributionHash!)}`)
  } else if (command === 'beacon') {
    if (values.hash === undefined || values.iterations === undefined) throw new CeremonyUsageError('beacon needs --hash HEX and --iterations N')
    if (!/^\d+$/.test(values.iterations)) throw new CeremonyUsageError('--iterations is a whole number from 10 to 63')
    const { entry, proofSystemId } = await applyBeacon({
      dir, beaconHash: values.hash, iterationsExp: Number(values.iterations), name: values.name, vectorFile: values.vector ?? DEFAULT_VECTOR_FILE
    })
    console.log(`beacon: ${entry.file}\ncontribution hash:\n${formatSnarkjsHash(entry.contributionHash!)}\nproof-system id ${proofSystemId}`)
  } else if (command === 'verify') {
    const report = await verifyChain({ dir, open: values.open, progress: (line) => { console.log(`  ${line}`) } })
    for (const e of report.transcript.entries) {
      console.log(`${e.index}  ${e.kind.padEnd(12)} ${e.file}  ${e.name ?? ''}${e.kind === 'beacon' ? ` (beacon ${e.beaconHash}, 2^${e.iterationsExp} iterations)` : ''}`)
    }
    console.log(report.final ? `chain OK; proof-system id ${report.proofSystemId}` : 'open chain OK (no beacon yet)')
  } else {
    throw new CeremonyUsageError(USAGE)
  }
}

try {
  await run(process.argv.slice(2))
} catch (err) {
  const code = err instanceof CeremonyChainError
    ? CEREMONY_EXIT.chainInvalid
    : err instanceof CeremonyUsageError ? CEREMONY_EXIT.usage : err instanceof CeremonyStateError ? CEREMONY_EXIT.wrongStep : CEREMONY_EXIT.failure
  console.error(`ceremony: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = code
}
