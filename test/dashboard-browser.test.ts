import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import jsQRModule from 'jsqr'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { callApi, findDaemon } from '../src/adapters/control-api/control-api-client.ts'
import { decodeShareCode, encodeShareCode } from '../src/domain/formats/share-code.ts'
import { findChromium } from './helpers/chromium.ts'
import { runQuloud } from './helpers/node-process.ts'
import { ProcessFederation } from './helpers/process-federation.ts'
import { waitFor } from './helpers/wait-for.ts'

const chromium = findChromium()

/**
 * The web dashboard in headless Chromium over a federation of three daemons: log in
 * with the one-time link, see the peers, upload a file, download it byte-identical,
 * share it and decode the QR from a screenshot, revoke. Screenshots stay in a temp
 * folder whose path is printed.
 */
describe('the web dashboard in a browser (3 node processes, headless Chromium)', { skip: 'skip' in chromium ? chromium.skip : false }, () => {
  let browser: Browser | undefined
  let page: Page
  let fed: ProcessFederation
  const dataDir = (name: string): string => fed.dataDir(name)
  // kept after the run, unlike the nodes' folder: the screenshots are what it leaves to look at
  let shotsDir = ''
  const shots = (): string => shotsDir
  const downloads = (): string => join(fed.dir, 'downloads')
  const content = randomBytes(300_000 + 17)
  const shot = async (name: string): Promise<void> => { await page.screenshot({ path: join(shots(), `${name}.png`), fullPage: true }) }

  before(async () => {
    fed = await ProcessFederation.create({ prefix: 'ui', names: ['a', 'b', 'c'] })
    shotsDir = await mkdtemp(join(tmpdir(), 'quloud-ui-screenshots-'))
    await mkdir(downloads(), { recursive: true })
    await fed.startAll(['b', 'a', 'c'])
    await waitFor(async () => (await fed.node('a').api<{ live: number }>('/v1/peers')).live >= 2, { what: 'a to see 2 live peers', timeoutMs: 180_000, intervalMs: 250 })
    browser = await puppeteer.launch({ executablePath: (chromium as { path: string }).path, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
    page = await browser.newPage()
    await page.setViewport({ width: 1200, height: 800 })
    const cdp = await page.createCDPSession()
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads() })
  })

  after(async () => {
    await browser?.close()
    await fed?.close()
    if (shotsDir !== '') console.log(`dashboard screenshots: ${shotsDir}`)
  })

  it('logs in with the one-time link, which leaves the address bar and works only once', async () => {
    const linked = await runQuloud(['dashboard', '--json', '--data-dir', dataDir('a')])
    assert.equal(linked.code, 0, linked.stderr)
    const { url } = JSON.parse(linked.stdout) as { url: string }
    assert.match(url, /\/ui\/login\?token=/)
    await page.goto(url)
    assert.equal(new URL(page.url()).search, '', 'the token is gone from the address after the login')
    assert.match(new URL(page.url()).pathname, /^\/ui\/$/)
    await page.waitForSelector('#overview #capacity-chart')
    await page.waitForSelector('#overview #budget-chart')
    await page.waitForSelector('#overview #health-chart')
    const repair = await page.$eval('#repair', (e) => e.textContent ?? '')
    assert.match(repair, /\d+ file\(s\) checked; \d+ below full health/, 'the repair queue, as status has it')
    await shot('overview')

    const again = await browser!.newPage()
    try {
      const replay = await again.goto(url)
      assert.equal(replay?.status(), 401, 'a replayed link is refused')
    } finally {
      await again.close()
    }
  })

  it('logs in with the API key in the form, and out again', async () => {
    const context = await browser!.createBrowserContext()
    try {
      const other = await context.newPage()
      const { url } = await findDaemon(dataDir('a'))
      await other.goto(`${url}/ui/`)
      await other.waitForSelector('#secret')
      await other.type('#secret', 'not the key')
      await other.click('#login')
      await other.waitForSelector('.login .error')
      await other.$eval('#secret', (e) => { (e as HTMLInputElement).value = '' })
      await other.type('#secret', (await readFile(join(dataDir('a'), 'api.token'), 'utf8')).trim())
      await other.click('#login')
      await other.waitForSelector('#overview')
      const session = (await other.cookies()).find((c) => c.name.startsWith('quloud_ui_'))
      assert.ok(session?.httpOnly === true && session.sameSite === 'Strict', 'the browser holds an HttpOnly, SameSite=Strict cookie')
      assert.equal(await other.evaluate(() => document.cookie), '', 'the page\'s scripts cannot read it')
      await other.click('#logout')
      await other.waitForSelector('#secret')
      const replayed = await fetch(`${url}/ui/api/session`, { headers: { cookie: `${session.name}=${session.value}` } })
      assert.equal(replayed.status, 401, 'the cookie of a logged-out session opens nothing')
    } finally {
      await context.close()
    }
  })

  it('shows the peers of the federation', async () => {
    await page.click('#tab-peers')
    const ids = [fed.node('b').peerId, fed.node('c').peerId]
    await page.waitForFunction((want: string[]) => want.every((id) => document.querySelector(`tr.peer[data-peer="${id}"]`) !== null), { timeout: 60_000 }, ids)
    await shot('peers')
  })

  it('browses a directory the CLI put, folder by folder', async () => {
    const album = join(fed.dir, 'album')
    await mkdir(join(album, 'day 2'), { recursive: true })
    await writeFile(join(album, 'one.txt'), 'one\n')
    await writeFile(join(album, 'day 2', 'two.txt'), 'two\n')
    const put = await runQuloud(['put', album, '--json', '--data-dir', dataDir('a')])
    assert.equal(put.code, 0, put.stderr)
    await page.click('#tab-files')
    await page.waitForSelector('tr.file[data-name="album"] button.open-dir', { timeout: 60_000 })
    assert.equal(await page.$('tr.file[data-name="album/one.txt"]'), null, 'the root shows the folder, not what is inside')
    await page.click('tr.file[data-name="album"] button.open-dir')
    await page.waitForSelector('tr.file[data-name="album/one.txt"] a.download')
    await page.click('tr.file[data-name="album/day 2"] button.open-dir')
    await page.waitForSelector('tr.file[data-name="album/day 2/two.txt"]')
    await page.click('#cwd button.crumb')
    await page.waitForSelector('tr.file[data-name="album"]')
  })

  it('uploads a file, lists it, and downloads it byte-identical', async () => {
    const source = join(fed.dir, 'holiday.bin')
    await writeFile(source, content)
    await page.click('#tab-files')
    const input = await page.waitForSelector('#upload-input')
    await (input as unknown as { uploadFile: (p: string) => Promise<void> }).uploadFile(source)
    await page.click('#upload')
    await page.waitForSelector('tr.file[data-name="holiday.bin"] a.download', { timeout: 120_000 }).catch(async (err) => { throw new Error(`${err.message}\n${fed.logs(40)}`) })
    const listed = await callApi<Array<{ name: string, size: number }>>(await findDaemon(dataDir('a')), 'GET', '/v1/files')
    assert.deepEqual(listed.filter((f) => f.name === 'holiday.bin').map((f) => f.size), [content.length], 'the catalogue has it, at its size')

    await page.click('tr.file[data-name="holiday.bin"] button.show-versions')
    await page.waitForSelector('tr.file[data-name="holiday.bin"] ul.versions li a', { timeout: 60_000 })
    assert.match(await page.$eval('tr.file[data-name="holiday.bin"] ul.versions', (e) => e.textContent ?? ''), /v1\b/, 'its one version is listed')
    await page.click('tr.file[data-name="holiday.bin"] a.download')
    await waitFor(async () => (await readdir(downloads())).includes('holiday.bin'), { what: 'the download to finish', timeoutMs: 120_000, intervalMs: 200 })
    assert.ok((await readFile(join(downloads(), 'holiday.bin'))).equals(content), 'the download is byte-identical')
    await shot('files')
  })

  it('shares it: the QR in the page decodes to the code the API returned; revoking ends the share', async () => {
    const answered = page.waitForResponse((r) => r.url().endsWith('/ui/api/v1/share') && r.request().method() === 'POST', { timeout: 120_000 })
    await page.click('tr.file[data-name="holiday.bin"] button.share-file')
    const given = await (await answered).json() as { code: string, fileId: string }
    const qr = await page.waitForSelector('#share-qr svg', { timeout: 60_000 })
    await shot('share')
    const png = Buffer.from(await qr!.screenshot({ omitBackground: false })).toString('base64')
    const decoded = await decodeQrPng(browser!, png)
    assert.ok(decoded !== undefined, 'the QR screenshot decodes')
    const canonical = (code: string): string => encodeShareCode(decodeShareCode(code))
    assert.equal(canonical(decoded), canonical(given.code))
    assert.equal(await page.$eval('#share-code', (e) => e.textContent), canonical(given.code))

    const shares = async (): Promise<Array<{ name: string, shares: unknown[] }>> => callApi(await findDaemon(dataDir('a')), 'GET', '/v1/shares')
    assert.equal((await shares()).find((s) => s.name === 'holiday.bin')?.shares.length, 1)
    const revoked = page.waitForResponse((r) => r.url().endsWith('/ui/api/v1/unshare'), { timeout: 120_000 })
    await page.click('#revoke')
    assert.equal((await revoked).status(), 200)
    assert.equal((await shares()).find((s) => s.name === 'holiday.bin')?.shares.length ?? 0, 0, 'no share is left')
    const received = await runQuloud(['receive', given.code, '--data-dir', dataDir('c'), '--output', join(fed.dir, 'received.bin')], { timeoutMs: 120_000 })
    assert.notEqual(received.code, 0, 'the revoked code no longer fetches the file')
  })

  it('shows activity and the log', async () => {
    await page.click('#tab-activity')
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.events li'), (li) => li.textContent ?? '').some((text) => text.includes('uploaded holiday.bin')), { timeout: 30_000 })
      .catch(async (err) => { throw new Error(`${(err as Error).message}; the page shows:\n${await page.$eval('#activity', (e) => e.textContent)}`) })
    await shot('activity')
    await page.click('#tab-overview')
    await page.waitForFunction(() => document.querySelector('#overview')?.textContent?.includes('3 file(s)') === true, { timeout: 30_000 })
    await shot('overview-stored')
  })
})

/** jsQR over the pixels of a PNG, drawn on a canvas of a blank page (no CSP there). */
async function decodeQrPng (browser: Browser, base64: string): Promise<string | undefined> {
  const blank = await browser.newPage()
  try {
    const { width, height, data } = await blank.evaluate(async (b64: string) => {
      const img = new Image()
      img.src = `data:image/png;base64,${b64}`
      await img.decode()
      const canvas = document.createElement('canvas')
      canvas.width = img.width
      canvas.height = img.height
      const ctx = canvas.getContext('2d')!
      ctx.drawImage(img, 0, 0)
      return { width: img.width, height: img.height, data: Array.from(ctx.getImageData(0, 0, img.width, img.height).data) }
    }, base64)
    // jsqr is CommonJS: under ESM its function is the default export's `default`
    const jsQR = (jsQRModule as unknown as { default: (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null }).default
    return jsQR(Uint8ClampedArray.from(data), width, height)?.data
  } finally {
    await blank.close()
  }
}
