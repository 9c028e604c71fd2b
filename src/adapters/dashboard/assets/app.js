// The dashboard page: a login form until a session exists, then four tabs. Preact and
// htm come straight from their npm packages, so the page needs no build step.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { html, logout, setCsrf } from './client.js'
import { Overview, Files, Peers, Activity } from './pages.js'

function Login ({ onLogin }) {
  const [secret, setSecret] = useState('')
  const [error, setError] = useState('')
  const submit = async (e) => {
    e.preventDefault()
    const res = await fetch('/ui/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret }) })
    const data = await res.json()
    if (!res.ok) return setError(data.error?.message ?? 'login failed')
    setCsrf(data.csrf)
    onLogin()
  }
  return html`<form class="login" onSubmit=${submit}>
    <h1>Quloud</h1>
    <p>Log in with the API key (<code>quloud api-key show</code>) or the dashboard password, or open the link <code>quloud dashboard</code> prints.</p>
    <input id="secret" type="password" autocomplete="current-password" value=${secret} onInput=${(e) => setSecret(e.target.value)} placeholder="API key or password" />
    <button id="login" type="submit">Log in</button>
    ${error && html`<p class="error">${error}</p>`}
  </form>`
}

const TABS = { overview: Overview, files: Files, peers: Peers, activity: Activity }

function App () {
  const [state, setState] = useState('checking')
  const [tab, setTab] = useState('overview')
  useEffect(() => {
    void fetch('/ui/api/session').then(async (res) => {
      if (res.ok) { setCsrf((await res.json()).csrf); setState('in') } else setState('out')
    })
    const out = () => setState('out')
    window.addEventListener('quloud-logout', out)
    return () => window.removeEventListener('quloud-logout', out)
  }, [])
  if (state === 'checking') return html`<p>Loading…</p>`
  if (state === 'out') return html`<${Login} onLogin=${() => setState('in')} />`
  const Page = TABS[tab]
  return html`<header>
      <strong>Quloud</strong>
      <nav>${Object.keys(TABS).map((name) => html`<button id=${`tab-${name}`} class=${name === tab ? 'active' : ''} onClick=${() => setTab(name)}>${name}</button>`)}</nav>
      <button id="logout" onClick=${async () => { await logout(); setState('out') }}>log out</button>
    </header>
    <${Page} />`
}

render(html`<${App} />`, document.getElementById('app'))
