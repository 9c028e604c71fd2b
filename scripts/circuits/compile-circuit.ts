// Compiles circuits/ownership.circom with the npm `circom2` package (circom compiled to
// WASI). Shared by the ceremony script and by the test that checks the committed r1cs
// and wasm still come from the committed source.
//
// circom2 sees only the directory tree below its working directory and cannot follow a
// symlink out of it (node_modules is a symlink in some checkouts), nor `..` paths. So
// the source and circomlib are copied into a fresh staging directory that is circom's
// working directory, and its output is written there too.
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const require = createRequire(import.meta.url)

export const CIRCUIT_SOURCE = fileURLToPath(new URL('../../circuits/ownership.circom', import.meta.url))

/** circom flags: --O2 removes every linear constraint (214 constraints instead of 416). */
export const CIRCOM_FLAGS = ['--r1cs', '--wasm', '--O2']

export interface CompiledCircuit {
  /** Staging directory holding everything below; remove it with `cleanup`. */
  dir: string
  r1cs: string
  wasm: string
  witnessCalculator: string
  /** circom's console output (constraint counts). */
  log: string
  cleanup: () => Promise<void>
}

export async function compileOwnershipCircuit (): Promise<CompiledCircuit> {
  const dir = await mkdtemp(join(tmpdir(), 'quloud-circom-'))
  const cleanup = async () => rm(dir, { recursive: true, force: true })
  try {
    const circomlib = await realpath(dirname(require.resolve('circomlib/package.json')))
    const cli = await realpath(require.resolve('circom2/cli.js'))
    await cp(CIRCUIT_SOURCE, join(dir, 'ownership.circom'))
    await cp(join(circomlib, 'circuits'), join(dir, 'lib', 'circomlib', 'circuits'), { recursive: true })
    await mkdir(join(dir, 'out'))
    const { stdout, stderr } = await run(process.execPath, [cli, 'ownership.circom', ...CIRCOM_FLAGS, '-l', 'lib', '-o', 'out'], { cwd: dir })
    const out = join(dir, 'out')
    return {
      dir,
      r1cs: join(out, 'ownership.r1cs'),
      wasm: join(out, 'ownership_js', 'ownership.wasm'),
      witnessCalculator: join(out, 'ownership_js', 'witness_calculator.js'),
      log: stdout + stderr,
      cleanup
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}
