import assert from 'node:assert/strict'
import { DEFAULT_CONFIG } from '../src/domain/config/node-config.ts'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import {
  CHALLENGE_TTL_MS, DELETE_PROTOCOL, IDLE_TIMEOUT_MS, MAX_INBOUND_STREAMS_PER_CONNECTION, MAX_INBOUND_V1_STREAMS_PER_CONNECTION, MAX_REQUESTS_PER_SECOND, MAX_STREAM_LIFETIME_MS,
  MAX_STREAMS_PER_PEER, RATE_WINDOW_S, RETRIEVE_PROTOCOL, SESSION_TTL_MS, STORE_PROTOCOL, V1_PROTOCOLS
} from '../src/adapters/libp2p/wire/constants.ts'
import { WIRE_ERROR_CODES } from '../src/adapters/libp2p/wire/messages.ts'
import { RECEIPT_TAG } from '../src/domain/protocol/receipt.ts'

const spec = (name: string): string => readFileSync(new URL(`../protocol-spec/${name}`, import.meta.url), 'utf8')
const readme = spec('README.md')

describe('protocol-spec agrees with the code it describes', () => {
  it('says version 2 and names the v2 ids the node serves, each in its own document', () => {
    assert.match(readme, /^# Quloud federation protocols, version 2$/m)
    assert.match(spec('quloud.proto'), /^package quloud\.wire\.v2;$/m)
    for (const [doc, id] of [['store.md', STORE_PROTOCOL], ['retrieve.md', RETRIEVE_PROTOCOL], ['delete.md', DELETE_PROTOCOL]]) {
      assert.ok(readme.includes(`[${doc}](${doc}) | \`${id}\``), `${doc} listed with ${id}`)
      assert.ok(spec(doc!).startsWith(`# \`${id}\``), `${doc} is about ${id}`)
    }
    for (const id of Object.values(V1_PROTOCOLS)) assert.ok(!readme.includes(`| \`${id}\``), `${id} is not listed as served`)
  })

  it('the refusal table has a row for every ErrorCode of quloud.proto, by number and name, and no other', () => {
    const rows = [...readme.matchAll(/^\| (\d+) \| ([A-Z_]+) \| .* \| (continues|closes|—) \| (continues|closes|—) \|$/gm)]
    const named = new Map(rows.map((r) => [r[2]!, Number(r[1])]))
    assert.deepEqual(Object.fromEntries(named), { ...WIRE_ERROR_CODES })
  })

  it('the limits it states are the constants', () => {
    const seconds = (ms: number) => `${ms / 1000} s`
    assert.ok(readme.includes(`| silence mid-stream (idle timeout) | ${seconds(IDLE_TIMEOUT_MS)}`))
    assert.ok(readme.includes(`| stream lifetime | ${MAX_STREAM_LIFETIME_MS / 60_000} min`))
    assert.ok(readme.includes(`| challenge validity | ${seconds(CHALLENGE_TTL_MS)} |`))
    assert.ok(readme.includes(`| proof session | ${SESSION_TTL_MS / 60_000} min |`))
    assert.ok(readme.includes(`| inbound streams per connection and Quloud protocol (v1 ids: ${MAX_INBOUND_V1_STREAMS_PER_CONNECTION}) | ${MAX_INBOUND_STREAMS_PER_CONNECTION} (`))
    assert.ok(readme.includes(`| open Quloud streams per peer, all connections and protocols | ${MAX_STREAMS_PER_PEER} |`))
    const perSecond = MAX_REQUESTS_PER_SECOND.toLocaleString('en')
    const burst = (MAX_REQUESTS_PER_SECOND * RATE_WINDOW_S).toLocaleString('en')
    assert.ok(readme.includes(`| requests (frames) per peer | ${perSecond}/s sustained, burst ${burst}`))
    // the budgets' rows state the config defaults
    const mib = (bytes: number) => bytes / 2 ** 20
    assert.ok(readme.includes(`| open connections (all peers) | ${DEFAULT_CONFIG.maxConnections} (\`maxConnections\`) |`))
    assert.ok(readme.includes(`| ${DEFAULT_CONFIG.maxConnectionsPerSubnet} (\`maxConnectionsPerSubnet\`) |`))
    assert.ok(readme.includes(`| ${DEFAULT_CONFIG.newConnectionsPerMinute} a minute (\`newConnectionsPerMinute\`) |`))
    assert.equal(DEFAULT_CONFIG.maxStreamsPerPeer, MAX_STREAMS_PER_PEER)
    assert.ok(readme.includes(`| ${DEFAULT_CONFIG.maxStreams} / ${DEFAULT_CONFIG.maxStreams * DEFAULT_CONFIG.strangersShare} / ${DEFAULT_CONFIG.maxStreamsPerSubnet} (`))
    assert.ok(readme.includes(`| ${mib(DEFAULT_CONFIG.peerMemoryBudget)} / ${mib(DEFAULT_CONFIG.subnetMemoryBudget)} / ${mib(DEFAULT_CONFIG.memoryBudget * DEFAULT_CONFIG.strangersShare)} / ${mib(DEFAULT_CONFIG.memoryBudget)} MiB (`))
    assert.ok(readme.includes(`| a response the peer does not read | ${seconds(DEFAULT_CONFIG.writeDrainTimeout)} (\`writeDrainTimeout\`) |`))
    // the reason for the order of the two timeouts is stated, so it must hold
    assert.ok(CHALLENGE_TTL_MS < IDLE_TIMEOUT_MS)
  })

  it('the receipt tag and its length are the ones signed', () => {
    assert.ok(readme.includes(`| 1 | tag | the ${RECEIPT_TAG.length} ASCII bytes \`${RECEIPT_TAG}\` |`))
    assert.ok(readme.includes(`u32(${RECEIPT_TAG.length}) ‖ "${RECEIPT_TAG}"`))
  })
})
