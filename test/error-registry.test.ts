import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, it } from 'node:test'
import { BY_ERROR_CODE, DEFAULT_EXIT, EXIT, EXIT_CODES_HELP, exitCodeFor } from '../src/cli/exit-codes.ts'
import { CLASS_OF_WIRE_NAME, errorFromWire, wireCodeOf } from '../src/adapters/libp2p/wire/wire-errors.ts'
import { WIRE_ERROR_CODES } from '../src/adapters/libp2p/wire/messages.ts'
import { ProtocolError, RemoteInternalError } from '../src/domain/protocol/federation-errors.ts'
import { defineError, definedErrorCodes, errorClassOf, isErrorOf, NotFoundError, QuloudError } from '../src/errors.ts'

const SRC = new URL('../src/', import.meta.url).pathname

async function sourceFiles (dir = SRC): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await sourceFiles(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** Every defineError in src, read from the text: [file, name, code]. */
async function definitions (): Promise<Array<{ file: string, name: string, code: string }>> {
  const found = []
  for (const file of await sourceFiles()) {
    const text = await readFile(file, 'utf8')
    const calls = text.match(/defineError\s*(<[^>]*>)?\s*\(/g)?.length ?? 0
    const literal = [...text.matchAll(/defineError\('([A-Za-z]+)', '([a-z-]+)'(, [A-Za-z]+)?\)/g)]
    // src/errors.ts declares the function itself: its one non-call match is the declaration
    const declarations = file.endsWith('/src/errors.ts') ? 1 : 0
    assert.equal(literal.length, calls - declarations, `${relative(SRC, file)}: every defineError takes a literal name and code`)
    for (const m of literal) found.push({ file, name: m[1]!, code: m[2]! })
  }
  return found
}

/** Lines that compare an error code string outside the registry; exported shape for the self-test. */
function codeComparisons (text: string, codes: Set<string>): string[] {
  const hits: string[] = []
  for (const line of text.split('\n')) {
    const literals = [...line.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!).filter((l) => codes.has(l))
    if (literals.length === 0) continue
    if (/[!=]==\s*'[a-z-]+'|'[a-z-]+'\s*[!=]==|case\s+'[a-z-]+'|\.has\(\s*'[a-z-]+'|new Set\(\[|\.includes\(\s*'[a-z-]+'/.test(line)) hits.push(line.trim())
  }
  return hits
}

describe('errors by class: one registry', () => {
  it('every defineError in src registers its code once, and the registry knows no other', async () => {
    const defs = await definitions()
    const codes = defs.map((d) => d.code)
    assert.equal(new Set(codes).size, codes.length, 'no code is defined twice')
    assert.equal(new Set(defs.map((d) => d.name)).size, defs.length, 'no name is defined twice')
    for (const file of new Set(defs.map((d) => d.file))) await import(pathToFileURL(file).href)
    assert.deepEqual(definedErrorCodes().filter((c) => !c.startsWith('test-')).sort(), [...codes].sort())
    for (const { name, code } of defs) {
      const Class = errorClassOf(code)!
      assert.equal(Class.name, name)
      assert.equal(Class.code, code)
      const instance = new Class('x')
      assert.equal(instance.name, name)
      assert.equal(instance.code, code)
      assert.ok(instance instanceof QuloudError)
    }
  })

  it('refuses a second class for a code that is taken', () => {
    assert.throws(() => defineError('AnotherNotFound', NotFoundError.code), /defined twice/)
  })

  it('a kind of an error is an instance of its parent, with its own name and code', () => {
    const Child = defineError('TestChildError', 'test-child', ProtocolError)
    const err = new Child('child', { cause: 'why' })
    assert.ok((err as unknown) instanceof ProtocolError)
    assert.ok(err instanceof Child)
    assert.equal(err.name, 'TestChildError')
    assert.equal(err.code, 'test-child')
    assert.equal(err.cause, 'why')
    assert.equal(new ProtocolError('p').code, 'protocol', 'the parent keeps its own code')
    assert.ok(isErrorOf(err, [NotFoundError, ProtocolError]))
    assert.ok(!isErrorOf(new ProtocolError('p'), [Child]))
    assert.ok(!isErrorOf(new Error('plain'), [ProtocolError]))
  })

  it('every error code has a deliberate CLI exit code, or is listed as a deliberate default', async () => {
    const codes = new Set((await definitions()).map((d) => d.code))
    const mapped = Object.keys(BY_ERROR_CODE)
    for (const code of codes) {
      const inTable = mapped.includes(code)
      const inDefaults = DEFAULT_EXIT.includes(code)
      assert.ok(inTable !== inDefaults, `${code}: ${inTable ? 'both mapped and listed as default' : 'has no deliberate exit code'}`)
    }
    for (const code of [...mapped, ...DEFAULT_EXIT]) assert.ok(codes.has(code), `exit-codes.ts names ${code}, which no defineError defines`)
    const documented = new Set([...EXIT_CODES_HELP.matchAll(/^\s+(\d+)\s/gm)].map((m) => Number(m[1])))
    for (const exit of Object.values(EXIT)) assert.ok(documented.has(exit), `exit code ${exit} is documented`)
    for (const code of mapped) assert.equal(exitCodeFor(code), BY_ERROR_CODE[code])
    for (const code of DEFAULT_EXIT) {
      assert.equal(exitCodeFor(code), EXIT.failure)
      assert.equal(exitCodeFor(code, true), EXIT.remote)
    }
  })

  it('no code outside the registry compares error code strings', async () => {
    const codes = new Set((await definitions()).map((d) => d.code))
    const allowed = new Set([join(SRC, 'errors.ts'), join(SRC, 'cli/exit-codes.ts')])
    const offences: string[] = []
    for (const file of await sourceFiles()) {
      if (allowed.has(file)) continue
      for (const line of codeComparisons(await readFile(file, 'utf8'), codes)) offences.push(`${relative(SRC, file)}: ${line}`)
    }
    assert.deepEqual(offences, [])
  })

  it('the comparison check finds the shapes it is meant to forbid', () => {
    const codes = new Set(['not-found', 'quota-exceeded'])
    const forbidden = [
      "if ((err as { code?: string }).code !== 'not-found') throw err",
      "if ('not-found' === err.code) return",
      "case 'quota-exceeded':",
      "const FINAL_CODES = new Set(['quota-exceeded', 'capacity-full'])",
      "if (FINAL.has('not-found')) {"
    ]
    for (const line of forbidden) assert.equal(codeComparisons(line, codes).length, 1, line)
    assert.deepEqual(codeComparisons("if (err?.code === 'ENOENT') return undefined", codes), [])
  })
})

describe('wire error table: from the .proto enum, by name', () => {
  it('every wire code maps to a class and back to the same code', () => {
    const names = Object.keys(WIRE_ERROR_CODES)
    assert.ok(names.length >= 11)
    assert.deepEqual(Object.keys(CLASS_OF_WIRE_NAME).sort(), [...names].sort())
    for (const name of names) {
      const code = WIRE_ERROR_CODES[name]!
      const err = errorFromWire(code, '')
      assert.ok(err instanceof CLASS_OF_WIRE_NAME[name]!, name)
      assert.equal(wireCodeOf(err), code, name)
      assert.match(err.message, new RegExp(`remote error ${code}`))
    }
    assert.equal(new Set(names.map((n) => CLASS_OF_WIRE_NAME[n])).size, names.length, 'one class per wire code')
  })

  it('follows the schema numbers, not positions: the proto says NOT_FOUND is 1 and ID_MISMATCH 10', () => {
    assert.equal(WIRE_ERROR_CODES.NOT_FOUND, 1)
    assert.equal(errorFromWire(WIRE_ERROR_CODES.ID_MISMATCH!, 'm').name, 'ChunkIdMismatchError')
    assert.equal(errorFromWire(WIRE_ERROR_CODES.BUSY!, 'm').name, 'BusyError')
  })

  it('unknown codes are remote internal errors; unknown errors are sent as INTERNAL', () => {
    assert.ok(errorFromWire(999, 'from the future') instanceof RemoteInternalError)
    assert.equal(wireCodeOf(new Error('a bug')), WIRE_ERROR_CODES.INTERNAL)
    assert.equal(wireCodeOf(new ProtocolError('broken stream')), WIRE_ERROR_CODES.INTERNAL)
    assert.equal(wireCodeOf('not even an error'), WIRE_ERROR_CODES.INTERNAL)
  })

  it('domain refusals of a request go out as the nearest wire code', async () => {
    const { InvalidChunkIdError } = await import('../src/domain/formats/chunk-id.ts')
    const { InvalidFieldElementError } = await import('../src/domain/proofs/field-element.ts')
    const { MalformedProofError } = await import('../src/domain/proofs/groth16-proof.ts')
    const { InvalidInputError } = await import('../src/errors.ts')
    for (const Class of [InvalidChunkIdError, InvalidFieldElementError, InvalidInputError]) assert.equal(wireCodeOf(new Class('x')), WIRE_ERROR_CODES.MALFORMED)
    assert.equal(wireCodeOf(new MalformedProofError('x')), WIRE_ERROR_CODES.INVALID_PROOF)
  })
})
