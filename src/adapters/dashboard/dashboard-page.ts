import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { NotFoundError } from '../../errors.ts'

const require = createRequire(import.meta.url)

/**
 * Every file the page may load, by its name under `/ui/assets/`: the dashboard's own
 * modules, and preact, its hooks and htm as their packages ship them (ES modules that
 * need no build step). A fixed table, so no request path ever reaches the filesystem.
 */
const ASSETS: Record<string, string> = {
  'app.js': join(import.meta.dirname, 'assets', 'app.js'),
  'client.js': join(import.meta.dirname, 'assets', 'client.js'),
  'pages.js': join(import.meta.dirname, 'assets', 'pages.js'),
  'charts.js': join(import.meta.dirname, 'assets', 'charts.js'),
  'style.css': join(import.meta.dirname, 'assets', 'style.css'),
  'preact.js': join(dirname(require.resolve('preact')), 'preact.module.js'),
  'hooks.js': join(dirname(require.resolve('preact/hooks')), 'hooks.module.js'),
  'htm.js': join(dirname(require.resolve('htm')), 'htm.module.js')
}

const IMPORT_MAP = JSON.stringify({ imports: { preact: '/ui/assets/preact.js', 'preact/hooks': '/ui/assets/hooks.js', htm: '/ui/assets/htm.js' } })

/** The inline import map is the one inline script allowed, by its hash. */
const CSP = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
  "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"
].join('; ')

const INDEX = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Quloud</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/style.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="/ui/assets/app.js"></script>
</head>
<body><main id="app"><p>Loading…</p></main></body>
</html>
`

export function sendIndex (res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP, 'content-length': Buffer.byteLength(INDEX) })
  res.end(INDEX)
}

export async function sendAsset (res: ServerResponse, name: string): Promise<void> {
  const path = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
  if (path === undefined) throw new NotFoundError(`no such dashboard asset: ${name}`)
  const body = await readFile(path)
  res.writeHead(200, {
    'content-type': name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
    'content-length': body.length,
    'content-security-policy': CSP
  })
  res.end(body)
}
