// A browser-sized upload and download through the dashboard against the CLI's put and
// get of a file of the same size, in one run: the dashboard streams the body to its
// spool and back, so it should cost about one extra local copy (ratio near 1) and no
// memory that grows with the file (the owner daemon's VmHWM stays far under its size).
//   npm run bench -- dashboard          (BENCH_UPLOAD_MIB=96: both files must fit a stranger's 256 MiB allowance on the storage node)
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { rssOf, secondsSince, startDaemonFederation } from './daemon-federation.ts'

const MIB = 1024 * 1024
const fileMib = Number(process.env.BENCH_UPLOAD_MIB ?? 96)

async function writeRandom (path: string): Promise<void> {
  const handle = await open(path, 'w')
  for (let i = 0; i < fileMib; i++) await handle.write(randomBytes(MIB))
  await handle.close()
}

const dir = await tempDir('quloud-bench-ui-')
try {
  const viaUi = join(dir.path, 'via-ui.bin')
  const viaCli = join(dir.path, 'via-cli.bin')
  await writeRandom(viaUi)
  await writeRandom(viaCli)
  const federation = await startDaemonFederation(join(dir.path, 'nodes'), 1)
  try {
    const api = JSON.parse(await readFile(join(federation.owner.dataDir, 'api.json'), 'utf8')).url as string
    const key = (await readFile(join(federation.owner.dataDir, 'api.token'), 'utf8')).trim()
    const { cookie, csrf } = await new Promise<{ cookie: string, csrf: string }>((resolve, reject) => {
      const req = request(`${api}/ui/login`, { method: 'POST', headers: { origin: api, 'content-type': 'application/json' } }, (res) => {
        const parts: Buffer[] = []
        res.on('data', (p: Buffer) => parts.push(p))
        res.on('end', () => resolve({ cookie: String(res.headers['set-cookie']).split(';')[0]!, csrf: JSON.parse(Buffer.concat(parts).toString()).csrf }))
      })
      req.on('error', reject)
      req.end(JSON.stringify({ secret: key }))
    })
    const pid = federation.owner.child.pid!
    const before = await rssOf(pid)

    // the CLI's put first: the high-water mark only grows, so what the upload adds beyond a put shows after it
    let started = process.hrtime.bigint()
    await federation.quloud(['put', viaCli, '--replicas', '1', '--json'])
    const putSeconds = secondsSince(started)
    const afterPut = await rssOf(pid)

    started = process.hrtime.bigint()
    await new Promise<void>((resolve, reject) => {
      const req = request(`${api}/ui/api/upload?name=via-ui.bin`, { method: 'POST', headers: { cookie, origin: api, 'x-csrf-token': csrf, 'content-length': fileMib * MIB } }, (res) => {
        const parts: Buffer[] = []
        res.on('data', (p: Buffer) => parts.push(p))
        res.on('end', () => res.statusCode === 200 ? resolve() : reject(new Error(`upload: ${res.statusCode} ${Buffer.concat(parts).toString()}`)))
      })
      req.on('error', reject)
      createReadStream(viaUi).pipe(req)
    })
    const uploadSeconds = secondsSince(started)
    const afterUpload = await rssOf(pid)

    const downloaded = join(dir.path, 'downloaded.bin')
    started = process.hrtime.bigint()
    await new Promise<void>((resolve, reject) => {
      request(`${api}/ui/api/download?ref=via-ui.bin&name=x`, { headers: { cookie } }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`download: ${res.statusCode}`))
        pipeline(res, createWriteStream(downloaded)).then(resolve, reject)
      }).on('error', reject).end()
    })
    const downloadSeconds = secondsSince(started)
    if ((await stat(downloaded)).size !== fileMib * MIB) throw new Error('the download is short')

    started = process.hrtime.bigint()
    await federation.quloud(['get', 'via-cli.bin', '--output', join(dir.path, 'got.bin'), '--json'])
    const getSeconds = secondsSince(started)
    const after = await rssOf(pid)

    const rate = (seconds: number): string => (fileMib * MIB / 1e6 / seconds).toFixed(0)
    console.log(`${fileMib} MiB, owner daemon and one storage daemon on 127.0.0.1`)
    console.log('| path | seconds | MB/s | dashboard / CLI |')
    console.log('|---|---:|---:|---:|')
    console.log(`| dashboard upload (spool + put) | ${uploadSeconds.toFixed(2)} | ${rate(uploadSeconds)} | ${(uploadSeconds / putSeconds).toFixed(2)}x |`)
    console.log(`| CLI put | ${putSeconds.toFixed(2)} | ${rate(putSeconds)} | |`)
    console.log(`| dashboard download (get + stream) | ${downloadSeconds.toFixed(2)} | ${rate(downloadSeconds)} | ${(downloadSeconds / getSeconds).toFixed(2)}x |`)
    console.log(`| CLI get | ${getSeconds.toFixed(2)} | ${rate(getSeconds)} | |`)
    console.log(`owner daemon high-water mark (VmHWM): ${before.peakMb.toFixed(0)} MB at start, ${afterPut.peakMb.toFixed(0)} MB after the CLI put, ${afterUpload.peakMb.toFixed(0)} MB after the dashboard upload, ${after.peakMb.toFixed(0)} MB after both downloads (file ${fileMib} MiB)`)
  } finally {
    await federation.stop()
  }
} finally {
  await dir.cleanup()
}
