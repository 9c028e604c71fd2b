/**
 * A `--import` hook for a child process: writes the URL of every module the process
 * resolved (ESM and CommonJS, static and dynamic) to $QULOUD_MODULE_TRACE, one per line,
 * when it exits. Tests use it to see what a command loads, not how long it takes.
 */
import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const out = process.env.QULOUD_MODULE_TRACE
if (out !== undefined && out !== '') {
  const seen = new Set<string>()
  registerHooks({
    resolve (specifier, context, next) {
      const resolved = next(specifier, context)
      seen.add(resolved.url)
      return resolved
    }
  })
  process.on('exit', () => { writeFileSync(out, [...seen].join('\n') + '\n') })
}
