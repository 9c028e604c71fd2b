// What every page shares: htm bound to preact, and the calls to /ui/api. The CSRF token
// comes from the session and goes back on every change; a 401 returns to the login form.
import { h } from 'preact'
import htm from 'htm'

export const html = htm.bind(h)

let csrf = ''

export function setCsrf (token) { csrf = token }

async function answer (res) {
  const data = await res.json()
  if (res.status === 401) { csrf = ''; window.dispatchEvent(new Event('quloud-logout')) }
  if (!res.ok) throw new Error(data.error?.message ?? res.statusText)
  return data
}

/** GET without a body, POST with one (JSON). */
export async function api (path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) }
  return answer(await fetch(`/ui/api${path}`, init))
}

/** A raw upload: the browser streams the file itself as the request body. */
export async function uploadFile (file) {
  return answer(await fetch(`/ui/api/upload?name=${encodeURIComponent(file.name)}`, { method: 'POST', headers: { 'x-csrf-token': csrf }, body: file }))
}

export async function logout () {
  await fetch('/ui/logout', { method: 'POST', headers: { 'x-csrf-token': csrf } }).catch(() => {})
  csrf = ''
}

export function size (bytes) {
  if (bytes === undefined || bytes === null) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++ }
  return `${i === 0 ? bytes : bytes.toFixed(1)} ${units[i]}`
}

export function short (peerId) { return `${peerId.slice(0, 8)}…${peerId.slice(-6)}` }

export function when (ms) { return ms === undefined ? '–' : new Date(ms).toLocaleString() }

/** Loads `load()` now and every `everyMs`, from the start again when `deps` change; returns [data, error, reload]. */
export function usePoll (useState, useEffect, load, everyMs = 5000, deps = []) {
  const [data, setData] = useState(undefined)
  const [error, setError] = useState('')
  const reload = async () => { try { setData(await load()); setError('') } catch (err) { setError(err.message) } }
  useEffect(() => {
    // started again when `deps` change; what the earlier polls bring back after that is dropped
    let live = true
    const poll = async () => {
      try {
        const got = await load()
        if (live) { setData(got); setError('') }
      } catch (err) {
        if (live) setError(err.message)
      }
    }
    void poll()
    const timer = setInterval(poll, everyMs)
    return () => { live = false; clearInterval(timer) }
  }, deps)
  return [data, error, reload]
}
