import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InvalidInputError, TooLargeError } from '../../errors.ts'
import type { ApiHandler } from '../control-api/control-api-server.ts'

export interface DashboardTransfersInit {
  /** The control API's routes: an upload is a `POST /v1/put` of the spooled file, a download a `POST /v1/get` into the spool. */
  routes: Record<string, ApiHandler>
  /** A folder of the data directory (mode 0700) where uploads and downloads pass through, one fresh subfolder each. */
  spoolDir: string
  /** Bytes one upload may have; more is refused with 413 before or while it arrives. */
  maxUploadBytes: number
}

/**
 * A browser upload, streamed to a file of its own in the spool (never held in memory
 * whole), then put as the catalogue name `name`; the spooled copy is removed either way.
 */
export async function upload (init: DashboardTransfersInit, req: IncomingMessage, name: string, signal: AbortSignal): Promise<unknown> {
  checkName(name)
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > init.maxUploadBytes) throw new TooLargeError(`the upload is over the dashboard's cap of ${init.maxUploadBytes} bytes`)
  const dir = await spool(init)
  try {
    const path = join(dir, name)
    let size = 0
    const cap = new Transform({
      transform (chunk: Buffer, _encoding, done) {
        size += chunk.length
        done(size > init.maxUploadBytes ? new TooLargeError(`the upload is over the dashboard's cap of ${init.maxUploadBytes} bytes`) : null, chunk)
      }
    })
    await pipeline(req, cap, createWriteStream(path, { flags: 'wx', mode: 0o600 }), { signal })
    const outcomes = await init.routes['POST /v1/put']!({ paths: [path] }, signal, () => {}) as unknown[]
    return outcomes[0]
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Restores `ref` (a file, optionally one `version`) into the spool and streams it to the browser as an attachment. */
export async function download (init: DashboardTransfersInit, res: ServerResponse, query: URLSearchParams, signal: AbortSignal): Promise<void> {
  const ref = query.get('ref') ?? ''
  const name = query.get('name') ?? 'download'
  const version = query.get('version')
  const dir = await spool(init)
  try {
    const output = join(dir, 'file')
    await init.routes['POST /v1/get']!({ ref, output, cwd: dir, ...(version === null ? {} : { version: Number(version) }) }, signal, () => {})
    const info = await stat(output)
    if (!info.isFile()) throw new InvalidInputError(`${ref} is not a file; download its files one by one`)
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': info.size,
      'content-disposition': `attachment; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`
    })
    await pipeline(createReadStream(output), res, { signal })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function spool (init: DashboardTransfersInit): Promise<string> {
  await mkdir(init.spoolDir, { recursive: true, mode: 0o700 })
  return mkdtemp(join(init.spoolDir, 't-'))
}

/** One name segment: the upload lands at the catalogue's top, and never outside its spool folder. */
function checkName (name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || Buffer.byteLength(name) > 255) {
    throw new InvalidInputError('"name" must be a file name (no slashes, at most 255 bytes)')
  }
}
