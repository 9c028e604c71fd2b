import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { QULOUD, runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

const exists = async (path: string): Promise<boolean> => access(path).then(() => true, () => false)
// util-linux's script(1) gives the command a pseudo-terminal, as a person at a shell has
const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0
const TIMEOUT_MS = 120_000

/** `quloud ARGS` on a pseudo-terminal: what it printed so far, and keys typed at it. */
class Terminal {
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  output = ''

  constructor (args: string[]) {
    const command = [QULOUD, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')
    this.child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb' } })
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => { this.output += d })
    this.child.stderr!.resume()
    this.exited = new Promise((resolve) => this.child.once('close', resolve))
    setTimeout(() => this.child.kill('SIGKILL'), TIMEOUT_MS).unref()
  }

  /** Waits until the output after `from` matches `pattern`; resolves to the match. */
  async waitFor (pattern: RegExp, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + TIMEOUT_MS
    while (true) {
      const match = this.output.slice(from).match(pattern)
      if (match !== null) return match
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`never saw ${pattern}; output:\n${this.output}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  type (text: string): void {
    this.child.stdin!.write(text)
  }
}

describe('quloud on a terminal', { skip: HAVE_SCRIPT ? false : 'script(1) from util-linux is not installed' }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  before(async () => { dir = await tempDir('quloud-tty-') })
  after(async () => { await dir.cleanup() })

  /** Runs init up to the confirmation: resolves to the 24 words shown. */
  async function shownPhrase (term: Terminal): Promise<string[]> {
    await term.waitFor(/Press Enter once you have written them down/)
    const words: string[] = []
    for (const m of term.output.matchAll(/(\d+)\. ([a-z]+)/g)) words[Number(m[1]) - 1] = m[2]!
    assert.equal(words.filter(Boolean).length, 24, term.output)
    term.type('\r')
    return words
  }

  it('init shows the phrase as a numbered grid, clears it, asks three words back, then creates the node', async () => {
    const dataDir = join(dir.path, 'confirmed')
    const term = new Terminal(['init', '--data-dir', dataDir, '--no-mdns'])
    const words = await shownPhrase(term)
    let from = term.output.length
    const asked: number[] = []
    for (let i = 0; i < 3; i++) {
      const [, n] = await term.waitFor(/Word #(\d+): /, from)
      asked.push(Number(n))
      from = term.output.length
      term.type(words[Number(n) - 1]!.toUpperCase() + '\r')
    }
    assert.equal(new Set(asked).size, 3, 'three different words')
    await term.waitFor(/Created a Quloud node/)
    assert.equal(await term.exited, 0, term.output)
    assert.ok(term.output.includes('\x1b[2J\x1b[3J'), 'the grid is cleared from the screen and scrollback before the words are asked')
    // the phrase shown is the node's: recovering from it gives the same owner secret
    const recovered = await runQuloud(['init', '--recover', '--json', '--data-dir', join(dir.path, 'from-grid')], { input: words.join(' ') + '\n' })
    assert.equal(recovered.code, 0, recovered.stderr)
    assert.deepEqual(await readFile(join(dir.path, 'from-grid', 'owner.secret')), await readFile(join(dataDir, 'owner.secret')))
  })

  it('wrong words three times: exit 10 and no node exists', async () => {
    const dataDir = join(dir.path, 'unconfirmed')
    const term = new Terminal(['init', '--data-dir', dataDir])
    await shownPhrase(term)
    for (let i = 0; i < 3; i++) {
      const from = term.output.length
      await term.waitFor(/Word #\d+: /, from)
      term.type('notaword\r')
    }
    assert.equal(await term.exited, 10, term.output)
    assert.match(term.output, /nothing was created/)
    assert.equal(await exists(dataDir), false)
  })

  it('init --recover reads the phrase without echoing it, then asks for the federation and a bootstrap node', async () => {
    const original = JSON.parse((await runQuloud(['init', '--json', '--data-dir', join(dir.path, 'lost')])).stdout)
    const words: string[] = original.recoveryPhrase.split(' ')
    const dataDir = join(dir.path, 'recovered')
    const term = new Terminal(['init', '--recover', '--data-dir', dataDir])
    await term.waitFor(/recovery phrase \(it is not shown as you type\): /)
    const from = term.output.length
    // typed with a slip corrected by backspace, as people do
    term.type(words.join(' ') + 'x\x7f\r')
    await term.waitFor(/Federation your files are in \[quloud\]: /)
    // whole words, and the prompt's own text left out: the word "file" of a phrase is not echoed by "your files are in"
    const shown = term.output.slice(from).replace(/Federation your files are in \[quloud\]: /, '')
    for (const word of new Set(words)) assert.ok(!new RegExp(`\\b${word}\\b`).test(shown), `"${word}" was echoed:\n${shown}`)
    term.type('my-family\r')
    await term.waitFor(/Address of a node of that federation/)
    term.type(`/ip4/127.0.0.1/tcp/4101/p2p/${original.peerId}\r`)
    assert.equal(await term.exited, 0, term.output)
    const config = JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8'))
    assert.equal(config.federation, 'my-family')
    assert.deepEqual(config.bootstrap, [`/ip4/127.0.0.1/tcp/4101/p2p/${original.peerId}`])
    assert.deepEqual(await readFile(join(dataDir, 'owner.secret')), await readFile(join(dir.path, 'lost', 'owner.secret')))
  })
})
