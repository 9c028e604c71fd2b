// The container's health check: one authenticated GET of the daemon's /v1/health.
// Plain JavaScript with no imports beyond Node's own, so a check costs a bare Node
// start (~60 ms of CPU, 60 MB) rather than the CLI's; what it prints lands in
// `docker inspect`'s health log, so an unhealthy container says why.
import { existsSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'

const dataDir = process.env.QULOUD_DATA_DIR ?? '/data'
const TIMEOUT_MS = 8000

function fail (message) {
  console.log(`unhealthy: ${message}`)
  process.exit(1)
}

let api
try {
  // written by the running daemon: {url, pid, peerId}; removed when it stops
  api = JSON.parse(readFileSync(join(dataDir, 'api.json'), 'utf8'))
} catch {
  fail(existsSync(join(dataDir, 'node.json'))
    ? `no daemon is running on ${dataDir} (no api.json)`
    : `${dataDir} holds no node yet: run \`quloud init\``)
}
let key
try {
  key = readFileSync(join(dataDir, 'api.token'), 'utf8').trim()
} catch (err) {
  fail(`cannot read the API key: ${err.message}`)
}

const req = request(new URL('/v1/health', api.url), { headers: { authorization: `Bearer ${key}` }, timeout: TIMEOUT_MS }, (res) => {
  let body = ''
  res.setEncoding('utf8')
  res.on('data', (part) => { body += part })
  res.on('end', () => {
    if (res.statusCode !== 200) fail(`GET /v1/health answered ${res.statusCode}: ${body.slice(0, 200)}`)
    console.log(`healthy: ${body}`)
    process.exit(0)
  })
})
req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)))
req.on('error', (err) => fail(`GET ${api.url}/v1/health: ${err.message}`))
req.end()
