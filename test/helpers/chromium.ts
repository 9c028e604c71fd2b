import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser']

/**
 * Debian's Chromium for the browser tests: found, or installed with apt-get when this
 * process is root (CI runs as root). Returns a reason to skip when neither works.
 */
export function findChromium (): { path: string } | { skip: string } {
  const found = (): string | undefined => CANDIDATES.find((p) => existsSync(p))
  if (found() === undefined && process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const install = (): void => { execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'ignore', env, timeout: 600_000 }) }
    try {
      install()
    } catch {
      try {
        execFileSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 })
        install()
      } catch (err) {
        return { skip: `chromium is not installed and apt-get could not install it: ${(err as Error).message}` }
      }
    }
  }
  const path = found()
  return path === undefined ? { skip: 'chromium is not installed (apt-get install chromium, as root); browser tests skipped' } : { path }
}
