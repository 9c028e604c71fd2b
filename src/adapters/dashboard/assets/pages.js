// The four tabs. Each loads what it shows from the daemon and polls it.
import { useEffect, useState } from 'preact/hooks'
import { api, html, short, size, uploadFile, usePoll, when } from './client.js'
import { BudgetBars, CapacityBar, ExchangeBars, HealthBar, UsageHistory } from './charts.js'

// kept across tab switches, for the usage history chart; at most a day of 5 s samples
const usage = []

function Failure ({ error }) {
  return error ? html`<p class="error">${error}</p>` : null
}

export function Overview () {
  const [data, error] = usePoll(useState, useEffect, async () => {
    // the top level alone: each directory says how many files and bytes are below it
    const [status, listing, allowances] = await Promise.all([api('/v1/status'), api('/v1/list', {}), api('/v1/allowances')])
    usage.push({ at: Date.now(), used: status.usedBytes })
    if (usage.length > 17_280) usage.shift()
    return { status, top: listing.entries, allowances: allowances.peers }
  })
  if (data === undefined) return html`<${Failure} error=${error} /><p>Loading…</p>`
  const { status, top, allowances } = data
  const files = top.reduce((n, e) => n + (e.kind === 'file' ? 1 : e.filesBelow ?? 0), 0)
  const bytes = top.reduce((n, e) => n + (e.kind === 'file' ? e.size : e.bytesBelow ?? 0), 0)
  const holders = allowances.filter((p) => p.weStoreThere > 0)
  return html`<section id="overview">
    <${Failure} error=${error} />
    <h2>This node</h2>
    <dl>
      <dt>Peer id</dt><dd><code>${status.peerId}</code></dd>
      <dt>Federation</dt><dd>${status.network?.federation ?? '–'}</dd>
      <dt>Up for</dt><dd>${Math.round(status.uptimeSeconds / 60)} min (version ${status.version})</dd>
      <dt>Reachable</dt><dd>${status.network?.reachability?.state ?? '–'}</dd>
      <dt>Repair</dt><dd id="repair">${repairLine(status.repair)}</dd>
    </dl>
    ${status.repair !== undefined && html`<h2>Health of this owner's files</h2><${HealthBar} repair=${status.repair} />`}
    ${status.budgets !== undefined && html`<h2>Resource budgets</h2><${BudgetBars} budgets=${status.budgets} />`}
    <h2>Capacity offered</h2>
    <${CapacityBar} used=${status.usedBytes} capacity=${status.capacity} />
    <${UsageHistory} samples=${usage} capacity=${status.capacity} />
    <h2>What this owner stores, and where</h2>
    <p>${files} file(s), ${size(bytes)} in their newest versions, on ${holders.length} peer(s).</p>
    ${allowances.length > 0 && html`<${ExchangeBars} peers=${allowances} />`}
  </section>`
}

/** The repair queue in words: what `quloud status` says of it. */
function repairLine (repair) {
  if (repair === undefined) return 'not reported by this daemon'
  const parts = [`${repair.files} file(s) checked`, `${repair.degraded} below full health`]
  if (repair.waiting > 0) parts.push(`${repair.waiting} waiting for their holders (repairAfter)`)
  if (repair.running.length > 0) parts.push(`checking ${repair.running.join(', ')}`)
  parts.push(`${repair.repairedShards} shard(s) rebuilt since start`)
  if (repair.deletions > 0) parts.push(`${repair.deletions} old holder(s) to clean up`)
  if (repair.distrusted.length > 0) parts.push(`${repair.distrusted.length} holder(s) caught by an audit`)
  return parts.join('; ') + (repair.lastSweepAt === undefined ? ' (no round yet)' : ` (last round ${when(repair.lastSweepAt)})`)
}

function ShareBox ({ file, onDone }) {
  const [share, setShare] = useState(undefined)
  const [error, setError] = useState('')
  useEffect(() => {
    void (async () => {
      try {
        const given = await api('/v1/share', { ref: file.fileId, label: 'dashboard' })
        const qr = await api('/qr', { code: given.code })
        setShare({ ...given, svg: qr.svg })
      } catch (err) { setError(err.message) }
    })()
  }, [file.fileId])
  const revoke = async () => {
    try { await api('/v1/unshare', { ref: file.name }); onDone() } catch (err) { setError(err.message) }
  }
  return html`<div class="share" id="share-box">
    <${Failure} error=${error} />
    ${share === undefined ? html`<p>Sharing ${file.name}…</p>` : html`
      <p>Share code for <strong>${share.name}</strong>: read it out, or let your friend scan it.</p>
      <code id="share-code">${share.code}</code>
      <div id="share-qr" class="qr" dangerouslySetInnerHTML=${{ __html: share.svg }}></div>
      <button id="revoke" onClick=${revoke}>Revoke every share of this file</button>
      <button onClick=${onDone}>Close</button>`}
  </div>`
}

function Versions ({ file }) {
  const [versions, setVersions] = useState(undefined)
  useEffect(() => { void api('/v1/versions', { ref: file.name }).then(setVersions, () => setVersions([])) }, [file.name])
  if (versions === undefined) return html`<p>…</p>`
  return html`<ul class="versions">${versions.map((v) => html`<li>
    v${v.version} ${when(v.storedAt)}
    <a href=${`/ui/api/download?ref=${encodeURIComponent(file.name)}&version=${v.version}&name=${encodeURIComponent(leaf(file.name))}`}>download</a>
  </li>`)}</ul>`
}

/** What a listing of a directory (or of the top) shows: what is in it, directories first; a directory by the bytes below it. */
function rowsOf (listing) {
  const top = listing?.top
  const inside = (listing?.entries ?? []).filter((e) => top === undefined || e.fileId !== top.fileId || e.name !== top.name)
  return inside.map((e) => e.kind === 'directory' ? { ...e, size: e.bytesBelow ?? 0 } : e)
    .sort((a, b) => (a.kind === 'directory') === (b.kind === 'directory') ? a.name.localeCompare(b.name, undefined, { numeric: true }) : a.kind === 'directory' ? -1 : 1)
}

/** What names a directory for POST /v1/list: a tree's root by its group id, anything else by its own (idOf in catalogue-paths.ts). */
const refOf = (e) => e.group !== undefined && e.name === e.group.root ? e.group.id : e.fileId

const leaf = (name) => name.split('/').pop()

export function Files () {
  // the directories opened, from the top down, each listed by the daemon alone; by id, so an open
  // directory stays the version it was opened in (a put meanwhile shows from the top again)
  const [path, setPath] = useState([])
  const ref = path.length === 0 ? undefined : path[path.length - 1].ref
  const [listing, error, reload] = usePoll(useState, useEffect, async () => api('/v1/list', ref === undefined ? {} : { ref }), 10_000, [ref])
  const [sharing, setSharing] = useState(undefined)
  const [open, setOpen] = useState(undefined)
  const [busy, setBusy] = useState('')
  const [uploadError, setUploadError] = useState('')
  const upload = async (e) => {
    e.preventDefault()
    const file = e.target.elements.file.files[0]
    if (file === undefined) return
    setBusy(`uploading ${file.name}…`)
    setUploadError('')
    try { await uploadFile(file); e.target.reset(); await reload() } catch (err) { setUploadError(err.message) }
    setBusy('')
  }
  return html`<section id="files">
    <${Failure} error=${error || uploadError} />
    <form class="upload" onSubmit=${upload}>
      <input id="upload-input" name="file" type="file" />
      <button id="upload" type="submit">Upload</button>
      <span id="upload-state">${busy}</span>
    </form>
    ${sharing !== undefined && html`<${ShareBox} file=${sharing} onDone=${() => { setSharing(undefined); void reload() }} />`}
    <p class="crumbs" id="cwd"><button class="crumb" onClick=${() => setPath([])}>all files</button>${path.map((p, i) => html` / <button class="crumb" onClick=${() => setPath(path.slice(0, i + 1))}>${leaf(p.name)}</button>`)}</p>
    <table>
      <thead><tr><th>Name</th><th>Kind</th><th>Size</th><th>Modified</th><th>Health</th><th></th></tr></thead>
      <tbody>${rowsOf(listing).map((f) => html`<tr class="file" data-name=${f.name}>
        <td>${f.kind === 'directory' ? html`<button class="open-dir" onClick=${() => setPath([...path, { name: f.name, ref: refOf(f) }])}>${leaf(f.name)}/</button>` : leaf(f.name)}${open === f.name && html`<${Versions} file=${f} />`}</td>
        <td>${f.kind}</td><td>${size(f.size)}</td><td>${when(f.mtimeMs)}</td>
        <td class="health" title="healthy pieces of all, and how many a read needs">${f.health === undefined ? '' : `${f.health.healthy}/${f.health.total} (needs ${f.health.needed})`}</td>
        <td>${f.kind === 'file' && html`
          <a class="download" href=${`/ui/api/download?ref=${encodeURIComponent(f.fileId)}&name=${encodeURIComponent(leaf(f.name))}`}>download</a>
          <button class="show-versions" onClick=${() => setOpen(open === f.name ? undefined : f.name)}>versions</button>`}
          <button class="share-file" onClick=${() => setSharing(f)}>share</button></td>
      </tr>`)}</tbody>
    </table>
  </section>`
}

export function Peers () {
  const [data, error] = usePoll(useState, useEffect, async () => {
    const [peers, allowances] = await Promise.all([api('/v1/peers'), api('/v1/allowances')])
    return { peers, allowances: new Map(allowances.peers.map((a) => [a.peerId, a])) }
  })
  if (data === undefined) return html`<${Failure} error=${error} /><p>Loading…</p>`
  return html`<section id="peers">
    <${Failure} error=${error} />
    <p>Federation <strong>${data.peers.federation}</strong>: ${data.peers.live} live peer(s) of ${data.peers.peers.length} known.</p>
    <table>
      <thead><tr><th>Peer</th><th>Name</th><th>Standing</th><th>Up</th><th>Connected</th><th>Stores here</th><th>We store there</th><th>Allowance</th></tr></thead>
      <tbody>${data.peers.peers.map((p) => {
        const a = data.allowances.get(p.peerId)
        return html`<tr class="peer" data-peer=${p.peerId}>
          <td><code title=${p.peerId}>${short(p.peerId)}</code></td>
          <td>${a?.name ?? ''}</td><td>${a?.standing ?? '–'}</td>
          <td>${(p.uptimeRatio * 100).toFixed(0)} % since ${when(p.firstSeen)}</td><td>${p.connected ? 'yes' : 'no'}</td>
          <td>${size(a?.storesHere)}</td><td>${size(a?.weStoreThere)}</td><td>${size(a?.allowance)}</td>
        </tr>`
      })}</tbody>
    </table>
  </section>`
}

export function Activity () {
  const [data, error] = usePoll(useState, useEffect, async () => api('/events'), 3000)
  const events = [...(data?.events ?? [])].reverse()
  const activity = events.filter((e) => e.source === 'dashboard' || e.source === 'api')
  return html`<section id="activity">
    <${Failure} error=${error} />
    <h2>Activity</h2>
    <ul class="events">${activity.map((e) => html`<li class=${e.level}>${when(e.at)} <em>${e.source}</em> ${e.message}</li>`)}</ul>
    <h2>Log</h2>
    <pre class="log">${events.filter((e) => e.source !== 'dashboard').map((e) => `${new Date(e.at).toISOString()} ${e.level} ${e.source}: ${e.message}\n`)}</pre>
  </section>`
}
