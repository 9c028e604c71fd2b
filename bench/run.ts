// Runs every bench/*.bench.ts in its own process, one after the other, so that one
// benchmark's warm caches and worker threads do not flatter the next.
// `npm run bench` runs all; `npm run bench -- proof` runs those whose name matches;
// further words go to the benchmark itself (`npm run bench -- hostile proofs`).
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const filter = process.argv[2]
const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort()
// a name that is a benchmark's whole name runs that one only (`tree` is not also `incremental-tree`)
const files = all.includes(`${filter}.bench.ts`) ? [`${filter}.bench.ts`] : all.filter((f) => filter === undefined || f.includes(filter))
let failed = 0
for (const file of files) {
  console.log(`\n## ${file}`)
  const run = spawnSync(process.execPath, [join(here, file), ...process.argv.slice(3)], { stdio: 'inherit' })
  if (run.status !== 0) failed++
}
if (files.length === 0) console.log('no benchmark matched')
process.exit(failed === 0 ? 0 : 1)
