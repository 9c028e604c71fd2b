// The tables of docs/durability.md, from the model the daemon runs for `ls`:
//   bash scripts/node.sh scripts/durability-table.ts
// Prints Markdown; nothing is measured, every figure is computed (a second or two).
import { churnRate, MONTH_MS, YEAR_MS } from '../src/domain/durability/departure-estimate.ts'
import { DEFAULT_TIMING, schemeLossPerYear, serviceRepairTimes } from '../src/domain/durability/file-durability.ts'
import { lossProbability } from '../src/domain/durability/loss-model.ts'
import { smallFederationLoss } from '../src/domain/durability/small-federation.ts'
import { AUTO_REPLICAS, autoScheme } from '../src/domain/formats/stripe-layout.ts'

const DAY = 24 * 3_600_000
const CHURNS = [0.02, 0.1]
const HEAD_CHURN = CHURNS.map((c) => `${c * 100} %/month`).join(' | ')
const RULE = CHURNS.map(() => '---').join(' | ')

function sci (p: number): string {
  if (p >= 0.01) return p.toFixed(2)
  if (p < 1e-18) return '< 1e-18'
  const [m, e] = p.toExponential(1).split('e')
  return `${m}e${Number(e)}`
}

function row (cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`
}

const timers = serviceRepairTimes(DEFAULT_TIMING)
const out: string[] = []
out.push(`Repair as the service does it with the default timers (repairAfter ${DEFAULT_TIMING.repairAfterMs / 3_600_000} h, auditEvery ${DEFAULT_TIMING.auditEveryMs / 3_600_000} h): a loss is rebuilt after a mean ${timers.repairMs / 3_600_000} h, a stripe down to k after ${timers.urgentRepairMs / 3_600_000} h.`)
out.push('')

// What auto picks by federation size (autoScheme counts the other nodes)
out.push('### The schemes `auto` picks, in a federation with a spare node for every repair')
out.push('')
const per = (label: string): string => CHURNS.map((c) => `${label}, ${c * 100} %`).join(' | ')
out.push(row(['boxes', 'scheme', 'overhead', per('no repair'), per('lazy repair only'), per('the repair service')]))
out.push(row(['---', '---', '---', RULE, RULE, RULE]))
// one row per scheme, with the federation sizes (boxes, the owner's included) that pick it
const picks: Array<{ label: string, data: number, parity: number, from: number, to: number }> = []
for (let boxes = 4; boxes <= 20; boxes++) {
  const auto = autoScheme(boxes - 1)
  const [data, parity] = auto.kind === 'replicas' ? [1, auto.replicas - 1] : [auto.scheme.data, auto.scheme.parity]
  const label = auto.kind === 'replicas' ? `${auto.replicas} copies` : `${data}+${parity}`
  if (picks.at(-1)?.label === label) picks.at(-1)!.to = boxes
  else picks.push({ label, data, parity, from: boxes, to: boxes })
}
for (const { label, data, parity, from, to } of picks) {
  const none = CHURNS.map((c) => sci(schemeLossPerYear({ data, parity, monthlyChurn: c, repair: 'none' })))
  const lazy = CHURNS.map((c) => sci(schemeLossPerYear({ data, parity, monthlyChurn: c, repair: data + parity - 1, repairMs: timers.repairMs })))
  const service = CHURNS.map((c) => sci(schemeLossPerYear({ data, parity, monthlyChurn: c, repair: 'service' })))
  const boxes = to === 20 ? `${from} and more` : from === to ? `${from}` : `${from}–${to}`
  out.push(row([boxes, label, `${((data + parity) / data).toFixed(2)}×`, none.join(' | '), lazy.join(' | '), service.join(' | ')]))
}
out.push(row(['any', `${AUTO_REPLICAS} copies (files < 1 MiB)`, `${AUTO_REPLICAS.toFixed(2)}×`,
  CHURNS.map((c) => sci(schemeLossPerYear({ data: 1, parity: AUTO_REPLICAS - 1, monthlyChurn: c, repair: 'none' }))).join(' | '),
  CHURNS.map((c) => sci(schemeLossPerYear({ data: 1, parity: AUTO_REPLICAS - 1, monthlyChurn: c, repair: AUTO_REPLICAS - 1, repairMs: timers.repairMs }))).join(' | '),
  CHURNS.map((c) => sci(schemeLossPerYear({ data: 1, parity: AUTO_REPLICAS - 1, monthlyChurn: c, repair: 'service' }))).join(' | ')]))
out.push('')

out.push('### Other schemes, with the repair service (`put --erasure K+M`, `--replicas N`)')
out.push('')
out.push(row(['scheme', 'overhead', HEAD_CHURN]))
out.push(row(['---', '---', RULE]))
for (const [data, parity] of [[1, 3], [1, 4], [4, 2], [8, 4], [10, 6], [7, 7], [8, 8], [10, 10]] as const) {
  const label = data === 1 ? `${parity + 1} copies` : `${data}+${parity}`
  out.push(row([label, `${((data + parity) / data).toFixed(2)}×`, CHURNS.map((c) => sci(schemeLossPerYear({ data, parity, monthlyChurn: c, repair: 'service' }))).join(' | ')]))
}
out.push('')

// how far the large-federation figure moves with the model's readings and the repair's speed
const wide = autoScheme(100)
if (wide.kind === 'erasure') {
  const { data, parity } = wide.scheme
  const shards = data + parity
  const H = 3_600_000
  out.push(`### Sensitivity of the default ${data}+${parity}`)
  out.push('')
  out.push(row(['reading', HEAD_CHURN]))
  out.push(row(['---', RULE]))
  const at = (label: string, model: (churn: number) => Parameters<typeof lossProbability>[0]): void => {
    out.push(row([label, CHURNS.map((c) => sci(lossProbability(model(c), YEAR_MS))).join(' | ')]))
  }
  at('as above', (c) => ({ data, shards, departureRate: churnRate(c), ...timers }))
  at('churn as a monthly probability (λ = −ln(1 − churn))', (c) => ({ data, shards, departureRate: -Math.log(1 - c) / MONTH_MS, ...timers }))
  for (const extra of [18, 36]) {
    at(`every repair ${extra} h later (repairBandwidth queueing)`, (c) => ({ data, shards, departureRate: churnRate(c), repairMs: timers.repairMs + extra * H, urgentRepairMs: timers.urgentRepairMs + extra * H }))
  }
  at('repairAfter 1 h instead of 24 h', (c) => ({ data, shards, departureRate: churnRate(c), ...serviceRepairTimes({ repairAfterMs: H, auditEveryMs: DEFAULT_TIMING.auditEveryMs }) }))
}
out.push('')

out.push('### The issue\'s published figures, as this model gives them (10 %/month, 1-day repair)')
out.push('')
out.push(row(['case', 'p_loss/yr']))
out.push(row(['---', '---']))
out.push(row(['3 copies, no repair', sci(schemeLossPerYear({ data: 1, parity: 2, monthlyChurn: 0.1, repair: 'none' }))]))
out.push(row(['3 copies, repair at 2', sci(schemeLossPerYear({ data: 1, parity: 2, monthlyChurn: 0.1, repair: 2, repairMs: DAY }))]))
out.push(row(['8+8, repair at 12', sci(schemeLossPerYear({ data: 8, parity: 8, monthlyChurn: 0.1, repair: 12, repairMs: DAY }))]))
out.push(row(['7+7, repair at 13', sci(schemeLossPerYear({ data: 7, parity: 7, monthlyChurn: 0.1, repair: 13, repairMs: DAY }))]))
out.push('')

// 5 NAS boxes: the owner's and 4 others; auto keeps 3 copies on 3 of the 4
out.push('### A federation of 5 NAS boxes (3 copies on 3 of the 4 other boxes)')
out.push('')
out.push(row(['departed boxes are replaced', HEAD_CHURN]))
out.push(row(['---', RULE]))
const small = autoScheme(4)
const copies = small.kind === 'replicas' ? small.replicas : AUTO_REPLICAS
for (const [label, replaceMs] of [['at once (a spare is always there)', 1000], ['after a week on average', 7 * DAY], ['after a month on average', MONTH_MS], ['after 3 months on average', 3 * MONTH_MS], ['never (the federation shrinks)', undefined]] as const) {
  out.push(row([label, CHURNS.map((c) => sci(smallFederationLoss({ data: 1, shards: copies, departureRate: churnRate(c), ...timers, others: 4, ...(replaceMs === undefined ? {} : { replaceMs }) }, YEAR_MS))).join(' | ')]))
}
out.push(row(['2 copies instead, replaced after a month', CHURNS.map((c) => sci(smallFederationLoss({ data: 1, shards: 2, departureRate: churnRate(c), ...timers, others: 4, replaceMs: MONTH_MS }, YEAR_MS))).join(' | ')]))
out.push(row(['4 copies instead (one on every other box), replaced after a month', CHURNS.map((c) => sci(smallFederationLoss({ data: 1, shards: 4, departureRate: churnRate(c), ...timers, others: 4, replaceMs: MONTH_MS }, YEAR_MS))).join(' | ')]))
out.push('')

// the horizon's effect, for the reader who wants a decade
out.push('### Over ten years, the default large-federation scheme')
out.push('')
if (wide.kind === 'erasure') {
  const { data, parity } = wide.scheme
  out.push(row(['scheme', HEAD_CHURN]))
  out.push(row(['---', RULE]))
  out.push(row([`${data}+${parity}, 10 years`, CHURNS.map((c) => sci(lossProbability({ data, shards: data + parity, departureRate: churnRate(c), ...timers }, 10 * YEAR_MS))).join(' | ')]))
}
process.stdout.write(out.join('\n') + '\n')
