import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { QULOUD } from './helpers/node-process.ts'
import { chunkFiles, ProcessFederation } from './helpers/process-federation.ts'
import { EXIT } from '../src/cli/exit-codes.ts'
import { waitFor } from './helpers/wait-for.ts'
import { FileCatalogueCache } from '../src/adapters/data-dir/file-catalogue-cache.ts'

/** Every entry below `root` as `path kind content`, links by target, fifos by kind: what a byte-identical restore must reproduce. */
async function describeTree (root: string, skip: (rel: string) => boolean = () => false, rel = ''): Promise<string[]> {
  const out: string[] = []
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`
    if (skip(path)) continue
    const info = await lstat(join(root, path))
    if (info.isSymbolicLink()) out.push(`${path} -> ${await readlink(join(root, path))}`)
    else if (info.isDirectory()) out.push(`${path}/ ${(info.mode & 0o777).toString(8)}`, ...await describeTree(root, skip, path))
    else if (info.isFile()) out.push(`${path} ${(info.mode & 0o777).toString(8)} ${(await readFile(join(root, path))).toString('base64')}`)
    else out.push(`${path} special`)
  }
  return out
}

/**
 * A NAS tree through the CLI, with three node processes: nested directories, an empty
 * one, unicode and spaces, links to a file and to a directory, a fifo. Every path ls
 * prints works; restores are byte-identical, links included; a planted link is
 * refused; a killed restore resumes with --skip-existing.
 */
describe('a file tree through the CLI (3 node processes)', () => {
  let fed: ProcessFederation
  const q = async (name: string, args: string[], input?: string): ReturnType<ProcessFederation['cli']> => fed.cli(name, args, input)
  const src = (): string => join(fed.dir, 'src', 'Fotos 2024')

  before(async () => {
    fed = await ProcessFederation.create({ prefix: 'tree', names: ['a', 'b', 'c'] })
    await fed.startAll(['b', 'a', 'c'])
    for (const name of ['a', 'c']) await fed.waitForPeers(name, 2, 180_000)
    await mkdir(join(src(), 'Reise nach Köln', 'Tag 1'), { recursive: true })
    await mkdir(join(src(), 'leer'))
    await writeFile(join(src(), 'Reise nach Köln', 'IMG_0002.jpg'), randomBytes(1024 * 1024 + 99))
    await writeFile(join(src(), 'Reise nach Köln', 'IMG_0010.jpg'), randomBytes(4000))
    await writeFile(join(src(), 'Reise nach Köln', 'Tag 1', 'notiz ü.txt'), 'Dom, Rhein\n')
    for (let i = 0; i < 6; i++) await writeFile(join(src(), `note ${i}.txt`), `note ${i}\n`)
    await symlink('Reise nach Köln/IMG_0002.jpg', join(src(), 'titelbild'))
    await symlink('Reise nach Köln', join(src(), 'reise'))
    execFileSync('mkfifo', [join(src(), 'pipe')])
  })

  after(async () => {
    await fed?.close()
  })

  it('put stores the tree with its links, reports the fifo and exits 13 (partial)', async () => {
    const put = await q('a', ['put', src(), '--replicas', '2'])
    assert.equal(put.code, EXIT.partial, `${put.stderr}\n${fed.logs()}`)
    assert.match(put.stderr, /not stored: .*pipe \(a fifo\)/)
    assert.match(put.stdout, /^stored 9 files \(.+\), 2 links in .+; skipped 1 special$/m)
    const listed = JSON.parse((await q('a', ['ls', '--json'])).stdout)
    const links = listed.filter((e: { kind: string }) => e.kind === 'symlink').map((e: { name: string, target: string }) => `${e.name} -> ${e.target}`).sort()
    assert.deepEqual(links, ['Fotos 2024/reise -> Reise nach Köln', 'Fotos 2024/titelbild -> Reise nach Köln/IMG_0002.jpg'])
  })

  it('ls collapses directories, lists inside a PATH, and every name it prints is an argument', async () => {
    const top = await q('a', ['ls'])
    assert.equal(top.code, 0, top.stderr)
    assert.match(top.stdout, /  Fotos 2024\/$/m)
    assert.doesNotMatch(top.stdout, /IMG_0002/, 'collapsed by default')
    assert.match(top.stdout, / [+-]\d{4}  /, 'local times with the zone')
    const inside = await q('a', ['ls', 'Fotos 2024/Reise nach Köln/'])
    assert.equal(inside.code, 0, inside.stderr)
    const names = inside.stdout.trim().split('\n').slice(1).map((l) => l.split(/ {2}/).at(-1))
    assert.deepEqual(names, ['Fotos 2024/Reise nach Köln/', 'Fotos 2024/Reise nach Köln/IMG_0002.jpg', 'Fotos 2024/Reise nach Köln/IMG_0010.jpg', 'Fotos 2024/Reise nach Köln/Tag 1/'], 'natural order, first level')
    const all = await q('a', ['ls', '--tree'])
    assert.match(all.stdout, /Fotos 2024\/titelbild -> Reise nach Köln\/IMG_0002\.jpg$/m)

    const one = await q('a', ['get', 'Fotos 2024/Reise nach Köln/Tag 1/notiz ü.txt', '-o', join(fed.dir, 'one.txt')])
    assert.equal(one.code, 0, one.stderr)
    assert.equal(await readFile(join(fed.dir, 'one.txt'), 'utf8'), 'Dom, Rhein\n')
    const sub = await q('a', ['get', 'Fotos 2024/Reise nach Köln/', '-o', join(fed.dir, 'reise')])
    assert.equal(sub.code, 0, sub.stderr)
    assert.match(sub.stdout, /^restored 3 files \(.+\), 2 directories in .+$/m)
    assert.deepEqual(await describeTree(join(fed.dir, 'reise')), await describeTree(join(src(), 'Reise nach Köln')))

    const shared = await q('a', ['share', 'Fotos 2024/Reise nach Köln/Tag 1/notiz ü.txt'])
    assert.equal(shared.code, 0, shared.stderr)
    const received = await q('c', ['receive', '-o', join(fed.dir, 'gift.txt')], shared.stdout.trim().split('\n').at(-1)! + '\n')
    assert.equal(received.code, 0, received.stderr)
    assert.equal(await readFile(join(fed.dir, 'gift.txt'), 'utf8'), 'Dom, Rhein\n')
  })

  it('restores the whole tree byte-identical, links as links', async () => {
    const out = join(fed.dir, 'full')
    const got = await q('a', ['get', 'Fotos 2024', '-o', out, '--verbose'])
    assert.equal(got.code, 0, got.stderr)
    assert.match(got.stdout, /^restored .*titelbild$/m, 'per-file lines with --verbose')
    assert.deepEqual(await describeTree(out), await describeTree(src(), (rel) => rel === 'pipe'))
  })

  it('a link planted in the output tree is refused, and nothing outside -o changes', async () => {
    const out = join(fed.dir, 'planted')
    const elsewhere = join(fed.dir, 'elsewhere')
    await mkdir(elsewhere)
    await writeFile(join(elsewhere, 'IMG_0010.jpg'), 'precious')
    await mkdir(out)
    await symlink(elsewhere, join(out, 'Reise nach Köln'))
    const before = await describeTree(elsewhere)
    const got = await q('a', ['get', 'Fotos 2024', '-o', out, '--overwrite'])
    assert.equal(got.code, 10, got.stderr)
    assert.match(got.stderr, /symbolic link/)
    assert.deepEqual(await describeTree(elsewhere), before)
  })

  it('a restore killed half-way resumes with --skip-existing', async () => {
    const out = join(fed.dir, 'resumed')
    const child = spawn(QULOUD, ['get', 'Fotos 2024', '-o', out, '--data-dir', fed.dataDir('a')], { stdio: 'ignore' })
    const exited = new Promise((resolve) => child.once('close', resolve))
    try {
      // killed once the first file is in place (if the restore wins the race, everything is skipped below)
      await waitFor(async () => (await readdir(out).catch(() => [])).some((n) => n.startsWith('note ') && !n.includes('quloud-partial')) || child.exitCode !== null,
        { what: 'a first restored file', timeoutMs: 180_000, intervalMs: 20 })
    } finally {
      child.kill('SIGKILL')
      await exited
    }
    const refused = await q('a', ['get', 'Fotos 2024', '-o', out])
    assert.equal(refused.code, 10, 'without a policy an existing file is refused')
    const resumed = await q('a', ['get', 'Fotos 2024', '-o', out, '--skip-existing', '--json'])
    assert.equal(resumed.code, 0, `${resumed.stderr}\n${fed.logs()}`)
    const report = JSON.parse(resumed.stdout)
    assert.ok(report.skipped.length >= 1, 'what the killed restore wrote is kept')
    assert.equal(report.skipped.length + report.written.length, 11, 'every file and link once')
    assert.deepEqual(await describeTree(out), await describeTree(src(), (rel) => rel === 'pipe'), 'byte-identical, no temporary left')
  })

  it('a re-put with one changed file makes version 2 and sends only it; version 1 restores; forget frees its chunks on the holders', async () => {
    await writeFile(join(src(), 'note 1.txt'), 'note 1, edited\n')
    const put = await q('a', ['put', src(), '--replicas', '2'])
    assert.equal(put.code, EXIT.partial, put.stderr)
    assert.match(put.stdout, /; 8 unchanged, not sent again; skipped 1 special$/m)
    const versions = await q('a', ['ls', '--versions', 'Fotos 2024'])
    assert.equal(versions.code, 0, versions.stderr)
    assert.deepEqual(versions.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0]), ['1', '2'])
    assert.match((await q('a', ['ls'])).stdout, /Fotos 2024\/ {2}\(version 2 of 2\)$/m)

    const old = await q('a', ['get', 'Fotos 2024/note 1.txt', '--version', '1', '-o', join(fed.dir, 'old-note.txt')])
    assert.equal(old.code, 0, old.stderr + old.stdout)
    assert.equal(await readFile(join(fed.dir, 'old-note.txt'), 'utf8'), 'note 1\n')
    const now = await q('a', ['get', 'Fotos 2024/note 1.txt', '-o', join(fed.dir, 'new-note.txt')])
    assert.equal(await readFile(join(fed.dir, 'new-note.txt'), 'utf8'), 'note 1, edited\n', now.stderr)

    // what the owner's catalogue keeps on the holders, from its cache: a change may add a
    // delta there (catalogue-chain.ts) or replace the chain with a new base
    const cataloguePieces = async (): Promise<string[]> =>
      Object.entries((await new FileCatalogueCache(join(fed.dataDir('a'), 'catalogue.cache')).read())!.holders)
        .filter(([peer]) => fed.nameOf(peer) !== 'a').flatMap(([, ids]) => ids)
    // every record on the holders, as `holder chunk id`
    const records = async (): Promise<Set<string>> => new Set((await Promise.all(['b', 'c'].map(async (n) => (await chunkFiles(fed.dataDir(n))).map((f) => `${n} ${basename(f)}`)))).flat())
    const before = await records()
    const catalogueBefore = await cataloguePieces()
    const forget = await q('a', ['forget', 'Fotos 2024', '--keep-last', '1', '--yes'])
    assert.equal(forget.code, 0, forget.stderr)
    assert.match(forget.stdout, /^forgot version\(s\) 1; kept 2$/m)
    assert.match(forget.stdout, /^deleted 1 file \(7 B\)/m, 'only the old note: the other 8 files are kept by version 2')
    const after = await records()
    // what held the old note on each of its 2 holders is deleted: its chunk, or the pack
    // it shared with files version 2 keeps, which is rewritten without it (a batched
    // file not shared has no manifest piece); the catalogue's own pieces counted apart
    const catalogue = new Set([...catalogueBefore, ...await cataloguePieces()])
    const freed = [...before].filter((r) => !after.has(r) && !catalogue.has(r.slice(2))).length
    assert.ok(freed >= 2, `${freed} records freed`)
    const all = await q('a', ['get', 'Fotos 2024', '-o', join(fed.dir, 'after-forget')])
    assert.equal(all.code, 0, all.stderr)
    assert.deepEqual(await describeTree(join(fed.dir, 'after-forget')), await describeTree(src(), (rel) => rel === 'pipe'))
  })

  it('rm refuses without a terminal unless --yes, then removes a nested file by its path with a summary', async () => {
    const refused = await q('a', ['rm', 'Fotos 2024/note 0.txt'])
    assert.equal(refused.code, 10)
    assert.match(refused.stderr, /--yes/)
    const removed = await q('a', ['rm', 'Fotos 2024/note 0.txt', '--yes'])
    assert.equal(removed.code, 0, removed.stderr)
    assert.match(removed.stdout, /^removed 1 file \(7 B\) in .+; \d+ stored pieces deleted$/m)
    const names = JSON.parse((await q('a', ['ls', 'Fotos 2024', '--json'])).stdout).map((e: { name: string }) => e.name)
    assert.ok(!names.includes('Fotos 2024/note 0.txt'))
    assert.ok(names.includes('Fotos 2024/note 1.txt'))
    await rm(join(fed.dir, 'full'), { recursive: true })
  })
})
