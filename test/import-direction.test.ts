// Dependencies point inward: domain <- ports <- app <- adapters <- assembly <- cli.
// Reads every import of every file under src/ and fails, naming the file and the import,
// when one points outward. The rules are the README's "Architecture" section written as
// data, so a newcomer can read them here too.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

type Layer = 'domain' | 'ports' | 'app' | 'adapters' | 'assembly' | 'cli' | 'shared'

/** Which layer a file of src/ belongs to. errors.ts, util/, types/ and version.ts are shared leaves. */
function layerOf (file: string): Layer {
  const [top] = relative(join(root, 'src'), file).split('/')
  if (top === 'domain' || top === 'ports' || top === 'app' || top === 'adapters' || top === 'assembly' || top === 'cli') return top
  return 'shared'
}

/** Layers each layer may import; every layer may import itself and the shared leaves. */
const ALLOWED: Record<Layer, Layer[]> = {
  shared: [],
  domain: [],
  ports: ['domain'],
  app: ['domain', 'ports'],
  adapters: ['domain', 'ports', 'app'],
  assembly: ['domain', 'ports', 'app', 'adapters'],
  cli: ['domain', 'ports', 'app', 'adapters', 'assembly']
}

/**
 * Packages the domain may use, for types too: pure computation on bytes and text
 * (hashes, curves, mnemonics, CIDs). Multiaddr text is read in one domain module only.
 */
const DOMAIN_PACKAGES: Array<[RegExp, ((file: string) => boolean)?]> = [
  [/^node:(crypto|buffer)$/],
  [/^@noble\/(hashes|curves)\//],
  [/^@scure\/bip39(\/|$)/],
  [/^multiformats\//],
  [/^poseidon-lite\//],
  [/^@multiformats\/multiaddr$/, (file) => file.endsWith('src/domain/membership/multiaddr-text.ts')]
]

interface ImportSite { spec: string, typeOnly: boolean, line: number }

function sourceFiles (dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

function importsOf (text: string): ImportSite[] {
  const sites: ImportSite[] = []
  const pattern = /^(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm
  for (const match of text.matchAll(pattern)) {
    const spec = match[3] ?? match[4]!
    const line = text.slice(0, match.index).split('\n').length
    // `import { type A, type B }` is type-only too
    const braces = /^import\s+\{([^}]*)\}/.exec(match[0])
    const allTypes = braces !== null && braces[1]!.split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '))
    sites.push({ spec, typeOnly: match[2] !== undefined || allTypes, line })
  }
  return sites
}

/** What is wrong with the imports of `file` (an absolute path under src/) whose text is `text`. */
function problemsOf (file: string, text: string): string[] {
  const problems: string[] = []
  const from = layerOf(file)
  for (const site of importsOf(text)) {
    const where = `${relative(root, file)}:${site.line} imports ${site.spec}`
    if (site.spec.startsWith('.')) {
      const to = layerOf(resolve(dirname(file), site.spec))
      // package.json (the version) is the one file outside src/ that src/ reads
      if (!resolve(dirname(file), site.spec).startsWith(join(root, 'src') + '/') && resolve(dirname(file), site.spec) !== join(root, 'package.json')) problems.push(`${where}: src/ imports nothing outside src/`)
      else if (from === 'shared' && to !== 'shared') problems.push(`${where}: shared leaves import none of the layers`)
      else if (to !== from && to !== 'shared' && !ALLOWED[from].includes(to)) problems.push(`${where}: ${from} must not depend on ${to}`)
    } else if ((from === 'domain' || from === 'shared') &&
      !DOMAIN_PACKAGES.some(([pattern, only]) => pattern.test(site.spec) && (only === undefined || only(file)))) {
      problems.push(`${where}: the domain uses no I/O, network, storage or rendering package`)
    }
    if (from === 'ports' && !site.typeOnly) problems.push(`${where}: a port is types only (import type), it holds no runtime values`)
  }
  if (from === 'ports' && /^export\s+(?:default\s+(?!interface\b|type\b)|(?:async\s+)?(?:const|let|var|function|class|abstract\s+class|enum)\b)/m.test(text)) problems.push(`${relative(root, file)}: a port exports types only`)
  return problems
}

describe('import direction', () => {
  it('no file of src/ imports against domain <- ports <- app <- adapters <- assembly <- cli', () => {
    const problems = sourceFiles(join(root, 'src')).flatMap((file) => problemsOf(file, readFileSync(file, 'utf8')))
    assert.deepEqual(problems, [])
  })

  it('names each kind of outward import', () => {
    const at = (path: string): string => join(root, 'src', path)
    const one = (path: string, text: string): number => problemsOf(at(path), text).length
    assert.equal(one('domain/formats/x.ts', "import type { ChunkStore } from '../../ports/chunk-store.ts'\n"), 1, 'domain -> port')
    assert.equal(one('domain/formats/x.ts', "import { createHost } from '../../adapters/libp2p/create-host.ts'\n"), 1, 'domain -> adapter')
    assert.equal(one('domain/formats/x.ts', "import { multiaddr } from '@multiformats/multiaddr'\n"), 1, 'multiaddr outside its one module')
    assert.equal(one('domain/formats/x.ts', "import * as QRCode from 'qrcode'\n"), 1, 'domain -> rendering package')
    assert.equal(one('domain/formats/x.ts', "import { readFile } from 'node:fs/promises'\n"), 1, 'domain -> I/O')
    assert.equal(one('domain/formats/x.ts', "import type { Libp2p } from '@libp2p/interface'\n"), 1, 'not even a libp2p type')
    assert.equal(one('domain/formats/x.ts', "import { sha256 } from '@noble/hashes/sha2.js'\nimport { defineError } from '../../errors.ts'\n"), 0)
    assert.equal(one('ports/x.ts', "import { defineError } from '../errors.ts'\n"), 1, 'a port with a runtime import')
    assert.equal(one('ports/x.ts', "import type { ChunkId } from '../domain/formats/chunk-id.ts'\nexport const LIMIT = 1\n"), 1, 'a port with a runtime export')
    assert.equal(one('ports/x.ts', "import { type A, type B } from '../domain/formats/chunk-id.ts'\n"), 0)
    assert.equal(one('app/x.ts', "import { FsChunkStore } from '../adapters/chunk-store/fs-chunk-store.ts'\n"), 1, 'app -> adapter')
    assert.equal(one('app/x.ts', "const m = await import('../cli/main.ts')\n"), 1, 'a dynamic import counts')
    assert.equal(one('adapters/x/y.ts', "import { run } from '../../cli/main.ts'\n"), 1, 'adapter -> cli')
    assert.equal(one('adapters/x/y.ts', "import { startNode } from '../../assembly/daemon.ts'\n"), 1, 'adapter -> assembly')
    assert.equal(one('errors.ts', "import { x } from './domain/formats/chunk-id.ts'\n"), 1, 'a shared leaf -> a layer')
    assert.equal(one('cli/x.ts', "import { startNode } from '../assembly/daemon.ts'\n"), 0)
    assert.equal(one('ports/x.ts', "export async function limit () {}\n"), 1, 'a port with an async function')
    assert.equal(one('ports/x.ts', "export abstract class Base {}\n"), 1, 'a port with an abstract class')
    assert.equal(one('ports/x.ts', "export default function limit () {}\n"), 1, 'a port with a default export')
    assert.equal(one('ports/x.ts', "export default interface Limit { n: number }\n"), 0)
    assert.equal(one('domain/formats/x.ts', "import { startNode } from '../../../test/helpers/storage-node.ts'\n"), 1, 'a file outside src/')
    assert.equal(one('util/x.ts', "import { createLibp2p } from 'libp2p'\n"), 1, 'a shared leaf (the domain may import it) with a network package')
  })
})
