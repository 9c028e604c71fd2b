import { InvalidInputError } from '../../errors.ts'
import { absorbedWithin, closeRows } from './absorbing-chain.ts'
import { checkModel, type LossModel } from './loss-model.ts'

/**
 * A file in a federation too small to always have a spare node (docs/durability.md):
 * the loss model's chain, where a repair needs a live node that holds none of the
 * file's shards. Besides the healthy holders `h`, the state counts the spare nodes `s`;
 * the other `others - h - s` boxes left and are not replaced yet. A spare leaves at λ
 * like a holder; a departed box is replaced (a new node joins) after a mean
 * `replaceMs`, each independently; a repair rebuilds min(n - h, s) shards at once on
 * spares, at the loss model's repair rates.
 */
export interface SmallFederationModel extends LossModel {
  /** Storage nodes besides the owner's, all live at the start: at least n. */
  others: number
  /** Mean time until a departed box is replaced, ms; absent: never (the federation shrinks). */
  replaceMs?: number
}

/** P(the file is lost within `horizonMs`), from whole, with every other box live. */
export function smallFederationLoss (model: SmallFederationModel, horizonMs: number): number {
  const { data: k, shards: n, departureRate: lambda } = checkModel(model)
  const { others, replaceMs, repairMs, urgentRepairMs } = model
  if (!Number.isInteger(others) || others < n || others > 256) throw new InvalidInputError(`a federation holds the n = ${n} shards on distinct nodes besides the owner's, got ${others}`)
  if (replaceMs !== undefined && !(replaceMs > 0 && Number.isFinite(replaceMs))) throw new InvalidInputError(`replaceMs is a positive number of ms, got ${replaceMs}`)
  const index = new Map<string, number>()
  for (let h = n; h >= k; h--) for (let s = 0; s <= others - h; s++) index.set(`${h} ${s}`, index.size)
  const lost = index.size
  const q = Array.from({ length: lost + 1 }, () => new Array<number>(lost + 1).fill(0))
  const repairAt = repairMs === undefined ? -1 : model.repairAt ?? n - 1
  for (const [key, from] of index) {
    const [h, s] = key.split(' ').map(Number) as [number, number]
    const row = q[from]!
    row[h - 1 >= k ? index.get(`${h - 1} ${s}`)! : lost]! += h * lambda
    if (s > 0) row[index.get(`${h} ${s - 1}`)!]! += s * lambda
    const departed = others - h - s
    if (departed > 0 && replaceMs !== undefined) row[index.get(`${h} ${s + 1}`)!]! += departed / replaceMs
    if (h < n && h <= repairAt && s > 0) {
      const rebuilt = Math.min(n - h, s)
      row[index.get(`${h + rebuilt} ${s - rebuilt}`)!]! += 1 / (h === k ? urgentRepairMs ?? repairMs! : repairMs!)
    }
  }
  return absorbedWithin(closeRows(q), index.get(`${n} ${others - n}`)!, lost, horizonMs)
}
