import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { stderrLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { escapeControls } from '../src/util/control-characters.ts'

describe('stderr logger', () => {
  it('keeps a peer-supplied string from forging a log line or driving the terminal', () => {
    const lines: string[] = []
    const log = stderrLoggerFactory((line) => lines.push(line))('protocol:store')
    // what a hostile peer would send as a chunk id or an error text
    const forged = 'bafk\n2026-12-01T00:00:00.000Z INFO  quloud:node all is well\r\x1b[2J\x1b]0;owned\x07\u2028'
    log.warn(`refused store of ${forged}`, new Error(forged), forged, { id: forged })
    assert.equal(lines.length, 1)
    const [line] = lines
    assert.equal(line!.indexOf('\n'), line!.length - 1, 'one event, one line')
    assert.doesNotMatch(line!.slice(0, -1), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, 'no control character reaches the log')
    assert.match(line!, /WARN  quloud:protocol:store refused store of bafk\\n2026-12-01T00:00:00\.000Z INFO {2}quloud:node all is well\\r\\u001b\[2J/)
  })

  it('leaves printable text, including non-ASCII names, as it is', () => {
    assert.equal(escapeControls('写真/夏休み/海.jpg — ok'), '写真/夏休み/海.jpg — ok')
    assert.equal(escapeControls('a\tb'), 'a\\tb')
  })
})
