// Pictures where people would rather look than read: plain SVG, no chart library.
import { html, size } from './client.js'

/** Offered capacity as one bar: used (what peers store here) against the rest. */
export function CapacityBar ({ used, capacity }) {
  const share = capacity > 0 ? Math.min(1, used / capacity) : 0
  return html`<figure class="chart">
    <svg id="capacity-chart" viewBox="0 0 400 40" role="img" aria-label=${`${size(used)} of ${size(capacity)} used`}>
      <rect x="0" y="8" width="400" height="24" rx="4" class="free" />
      <rect x="0" y="8" width=${Math.max(2, 400 * share)} height="24" rx="4" class="used" />
    </svg>
    <figcaption>${size(used)} of ${size(capacity)} offered is used (${(share * 100).toFixed(1)} %)</figcaption>
  </figure>`
}

/** The owner's files repair knows of: at full health, degraded and waiting, degraded and due. */
export function HealthBar ({ repair }) {
  const total = Math.max(1, repair.files)
  const healthy = repair.files - repair.degraded
  const due = repair.degraded - repair.waiting
  const x = (n) => 400 * n / total
  return html`<figure class="chart">
    <svg id="health-chart" viewBox="0 0 400 40" role="img" aria-label=${`${healthy} of ${repair.files} files at full health`}>
      <rect x="0" y="8" width="400" height="24" rx="4" class="free" />
      <rect x="0" y="8" width=${x(healthy)} height="24" class="healthy" />
      <rect x=${x(healthy)} y="8" width=${x(repair.waiting)} height="24" class="waiting" />
      <rect x=${x(healthy + repair.waiting)} y="8" width=${x(due)} height="24" class="due" />
    </svg>
    <figcaption><span class="key healthy"></span> ${healthy} at full health <span class="key waiting"></span> ${repair.waiting} waiting for their holders <span class="key due"></span> ${due} to repair</figcaption>
  </figure>`
}

/** Per peer, two bars: what it stores here and what we store there. */
export function ExchangeBars ({ peers }) {
  const top = Math.max(1, ...peers.flatMap((p) => [p.storesHere, p.weStoreThere]))
  const row = 34
  return html`<figure class="chart">
    <svg id="exchange-chart" viewBox=${`0 0 400 ${Math.max(1, peers.length) * row + 10}`} role="img" aria-label="bytes exchanged per peer">
      ${peers.map((p, i) => html`<g transform=${`translate(0 ${i * row + 5})`}>
        <text x="0" y="11" class="label">${p.name || p.peerId.slice(-8)}</text>
        <rect x="110" y="0" width=${Math.max(1, 280 * p.storesHere / top)} height="12" class="here" />
        <rect x="110" y="14" width=${Math.max(1, 280 * p.weStoreThere / top)} height="12" class="there" />
      </g>`)}
    </svg>
    <figcaption><span class="key here"></span> stores here <span class="key there"></span> we store there</figcaption>
  </figure>`
}

/** Used bytes over the samples this page has taken (one per refresh), against the capacity. */
export function UsageHistory ({ samples, capacity }) {
  if (samples.length < 2) return null
  const first = samples[0].at
  const span = Math.max(1, samples[samples.length - 1].at - first)
  const top = Math.max(1, capacity, ...samples.map((s) => s.used))
  const points = samples.map((s) => `${(400 * (s.at - first) / span).toFixed(1)},${(58 - 56 * s.used / top).toFixed(1)}`).join(' ')
  return html`<figure class="chart">
    <svg id="usage-history" viewBox="0 0 400 60" role="img" aria-label="used bytes since this page opened">
      <rect x="0" y="0" width="400" height="60" class="free" />
      <polyline points=${points} class="line" />
    </svg>
    <figcaption>used since this page opened (${Math.round(span / 1000)} s)</figcaption>
  </figure>`
}

/** The node-wide budgets (memory buffered for peers, streams, connections) as use against limit. */
export function BudgetBars ({ budgets }) {
  const rows = [
    ['memory', budgets.memory.used, budgets.memory.limit, size],
    ['streams', budgets.streams.used, budgets.streams.limit, String],
    ['connections', budgets.connections.open, budgets.connections.limit, String]
  ]
  return html`<figure class="chart">
    <svg id="budget-chart" viewBox=${`0 0 400 ${rows.length * 22}`} role="img" aria-label="resource budgets in use">
      ${rows.map(([name, used, limit, show], i) => html`<g transform=${`translate(0 ${i * 22})`}>
        <text x="0" y="13" class="label">${name}</text>
        <rect x="90" y="2" width="220" height="14" class="free" />
        <rect x="90" y="2" width=${Math.max(1, 220 * Math.min(1, used / Math.max(1, limit)))} height="14" class=${used / Math.max(1, limit) > 0.8 ? 'hot' : 'used'} />
        <text x="316" y="13" class="label">${show(used)} / ${show(limit)}</text>
      </g>`)}
    </svg>
  </figure>`
}
