// Everything is constructed in one place: src/assembly. The rule this test keeps:
//
// - A *component* is every exported class of src/app and src/adapters, except error
//   classes. The list is read from the source, so a new service or adapter is covered
//   the day it is written.
// - Outside src/assembly, no file constructs a component: no `new X(`, `X.open(` or
//   `X.create(`. Two exceptions, both narrow:
//   1. the file that defines the class (its static `open`/`create` calls `new`);
//   2. per-operation helpers, listed below: objects that live for one stream, one
//      request or one commit and carry no wiring decision. Each may be built only
//      inside its own folder, by the code that owns the stream or the write.
// - The helpers that stand up nodes for tests and benches (test/helpers/storage-node.ts,
//   bench/fixtures/) construct no component at all: they use the assembly, so tests
//   run the wiring the daemon runs.
//
// It reads text, so it catches accidents, not an author set on hiding a `new`
// (through an alias or `Reflect.construct`); review catches those.
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'

const ROOT = resolve(import.meta.dirname, '..')

/** Per-operation helpers and the folder each may be built in. */
const PER_OPERATION: Record<string, string> = {
  FramedStream: 'src/adapters/libp2p/', // one per stream
  PipelinedExchange: 'src/adapters/libp2p/', // one per stream
  StoreClient: 'src/adapters/libp2p/', // one per store stream the federation client opens
  SessionClient: 'src/adapters/libp2p/', // one per proven session
  PeerSessions: 'src/app/owner/', // one per owner command: its streams and proven sessions
  FairQueue: 'src/adapters/proof/', // the waiting room inside one WorkerPoolVerifier
  StoreLink: 'src/app/owner/', // one store stream to one holder, inside PeerSessions
  OutputTree: 'src/app/owner/', // the output directory of one restore
  PartialFile: 'src/app/owner/', // one file being restored
  TaskWindow: 'src/app/owner/', // the chunks or stripes in flight of one put
  BatchSequence: 'src/app/owner/', // the batches of one put command
  PackWriters: 'src/app/owner/', // the packs being filled of one put command
  PackReads: 'src/app/owner/', // the packs one get, share or repack has read
  PacedReader: 'src/adapters/libp2p/', // the read side of one framed stream
  GroupCommit: 'src/adapters/metadata-store/', // the write queue of one open LevelDB
  CoalescedLevel: 'src/adapters/data-dir/', // the read and write queue of one open receipt ledger
  DirectorySyncs: 'src/adapters/chunk-store/', // the shared directory fsyncs of one open FsChunkStore
  TokenBucket: 'src/adapters/libp2p/' // the relay's meter of one stranger holder or source network while it has circuits (relay-meter.ts)
}

const NODE_BUILDERS = ['test/helpers/storage-node.ts', 'bench/fixtures/']

interface Source { path: string, text: string }
interface Violation { path: string, line: number, name: string }

async function sources (dir: string): Promise<Source[]> {
  const out: Source[] = []
  for (const entry of await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    const path = relative(ROOT, join(entry.parentPath, entry.name))
    out.push({ path, text: await readFile(join(ROOT, path), 'utf8') })
  }
  return out
}

/** Comments blanked out (line numbers kept), so prose that mentions `new X(` does not count. */
function code (text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/(^|\s)\/\/.*$/gm, '$1')
}

/** Exported classes of src/app and src/adapters, with the file that defines each; error classes left out. */
function componentsOf (files: Source[]): Map<string, string> {
  const found = new Map<string, string>()
  for (const { path, text } of files) {
    if (!path.startsWith('src/app/') && !path.startsWith('src/adapters/')) continue
    for (const match of code(text).matchAll(/^export\s+(?:abstract\s+)?class\s+(\w+)(?:<[^{]*?>)?(?:\s+extends\s+([\w.]+))?/gm)) {
      if (match[2]?.endsWith('Error') === true) continue
      found.set(match[1]!, path)
    }
    // `class X {}` exported further down with `export { X }`
    const text2 = code(text)
    for (const list of text2.matchAll(/^export\s*\{([^}]*)\}\s*;?\s*$/gm)) {
      for (const name of list[1]!.split(',').map((s) => s.trim().split(/\s+as\s+/)[0]!)) {
        const declared = new RegExp(`^(?:abstract\\s+)?class\\s+${name}\\b(?:<[^{]*?>)?(?:\\s+extends\\s+([\\w.]+))?`, 'm').exec(text2)
        if (declared !== null && declared[1]?.endsWith('Error') !== true) found.set(name, path)
      }
    }
  }
  return found
}

/** Where `files` construct one of `components` against the rule above. */
function violations (files: Source[], components: Map<string, string>, perOperation: Record<string, string> = PER_OPERATION): Violation[] {
  const out: Violation[] = []
  for (const { path, text } of files) {
    if (path.startsWith('src/assembly/')) continue
    const lines = code(text).split('\n')
    for (const [name, home] of components) {
      if (path === home) continue
      const folder = perOperation[name]
      if (folder !== undefined && path.startsWith(folder)) continue
      // over the whole text, not line by line: `new\n  X(` and `X\n  .open(` count too
      const built = new RegExp(`\\bnew\\s+${name}\\b|\\b${name}\\s*\\.\\s*(?:open|create)\\s*\\(`, 'g')
      for (const match of lines.join('\n').matchAll(built)) {
        out.push({ path, line: lines.join('\n').slice(0, match.index).split('\n').length, name })
      }
    }
  }
  return out
}

const shown = (found: Violation[]): string => found.map((v) => `${v.path}:${v.line} constructs ${v.name}`).join('\n')

describe('assembly boundary', () => {
  it('finds the components in the source (the list is not empty nor stale)', async () => {
    const components = componentsOf(await sources('src'))
    for (const name of ['StorageService', 'OwnerService', 'CatalogueService', 'LivenessService', 'FederationAnnouncer', 'FederationDialer',
      'SessionHandler', 'StoreHandler', 'PeerLimits', 'ProofSessions', 'SnarkjsProver', 'SnarkjsVerifier', 'Libp2pFederationClient',
      'ControlApiServer', 'FsChunkStore', 'LevelChunkStore', 'MemoryChunkStore', 'AtRestEncryptedChunkStore', 'LevelMetadataStore',
      'LevelPeerBook', 'MemoryPeerBook', 'FileCatalogueCache']) {
      assert.ok(components.has(name), `${name} is an exported class of src/app or src/adapters`)
    }
    assert.ok(!components.has('RemoteError'), 'error classes are not components')
    assert.ok(componentsOf([{ path: 'src/app/x.ts', text: 'class Hidden {}\nexport { Hidden }\n' }]).has('Hidden'), 'a class exported by name is a component')
    for (const [name, folder] of Object.entries(PER_OPERATION)) {
      assert.ok(components.has(name), `${name} is listed as a per-operation helper but is no exported class any more`)
      assert.ok(components.get(name)!.startsWith(folder), `${name} may be built only in its own folder, ${folder}`)
    }
  })

  it('src constructs components only in src/assembly', async () => {
    const files = await sources('src')
    const found = violations(files, componentsOf(files))
    assert.deepEqual(found, [], `construct these in src/assembly and pass them in:\n${shown(found)}`)
  })

  it('the helpers that stand up test and bench nodes use the assembly', async () => {
    const components = componentsOf(await sources('src'))
    const builders = (await Promise.all([sources('test/helpers'), sources('bench/fixtures')])).flat()
      .filter((f) => NODE_BUILDERS.some((b) => f.path === b || (b.endsWith('/') && f.path.startsWith(b))))
    assert.ok(builders.some((f) => f.path === 'test/helpers/storage-node.ts'))
    const found = violations(builders, components, {})
    assert.deepEqual(found, [], `build nodes through src/assembly:\n${shown(found)}`)
  })

  describe('the check itself', () => {
    const components = new Map([['StorageService', 'src/app/storage-service.ts'], ['LevelPeerBook', 'src/adapters/peer-book/level-peer-book.ts'],
      ['FramedStream', 'src/adapters/libp2p/wire/framed-stream.ts']])
    const check = (path: string, text: string): Violation[] => violations([{ path, text }], components, { FramedStream: 'src/adapters/libp2p/' })

    it('catches new, open and create however they are spaced', () => {
      assert.equal(check('src/adapters/libp2p/x.ts', 'const s = new StorageService({})').length, 1)
      assert.equal(check('src/app/x.ts', 'const s = new  StorageService<X>(init)').length, 1)
      assert.equal(check('src/cli/x.ts', 'const b = await LevelPeerBook .open({ location })').length, 1)
      assert.equal(check('src/cli/x.ts', 'const b = await LevelPeerBook.create(\n{})').length, 1)
      assert.equal(check('src/cli/x.ts', 'const s = new\n  StorageService({})').length, 1)
      assert.equal(check('src/cli/x.ts', 'const b = await LevelPeerBook\n  .open({ location })').length, 1)
    })

    it('allows the assembly, the defining file, and a per-operation helper in its own folder', () => {
      assert.deepEqual(check('src/assembly/node.ts', 'new StorageService({})'), [])
      assert.deepEqual(check('src/app/storage-service.ts', 'return new StorageService(init)'), [])
      assert.deepEqual(check('src/adapters/libp2p/protocols/y.ts', 'new FramedStream(stream, {})'), [])
    })

    it('refuses a per-operation helper outside its folder, and does not count comments or lookalikes', () => {
      assert.deepEqual(check('src/app/owner/z.ts', 'new FramedStream(stream, {})').map((v) => v.name), ['FramedStream'])
      assert.deepEqual(check('src/app/x.ts', '// new StorageService(init) is done by the assembly\n/* LevelPeerBook.open( */'), [])
      assert.deepEqual(check('src/app/x.ts', 'new StorageServiceInit(); MyLevelPeerBook.open()'), [])
      assert.deepEqual(check('src/app/x.ts', 'a\nb\nconst s = new StorageService({})'), [{ path: 'src/app/x.ts', line: 3, name: 'StorageService' }])
    })
  })
})
