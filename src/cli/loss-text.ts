/** Below this the model's figure means "never" for any owner; doubles hold it, the model's assumptions do not. */
const FLOOR = 1e-15

/**
 * A yearly loss probability in a few characters, for `ls`: one significant digit,
 * "≈1e-9/yr", "≈3e-5/yr", "≈35%/yr" from 1 % up, "<1e-15/yr" below the floor, and
 * "lost?" when the file cannot be read from what is healthy now (some holders may
 * return; `quloud check` says more).
 */
export function formatLossPerYear (p: number): string {
  if (!(p >= 0)) return '-'
  if (p >= 1) return 'lost?'
  if (p >= 0.01) return `≈${Math.round(p * 100)}%/yr`
  if (p < FLOOR) return `<1e-${-Math.log10(FLOOR)}/yr`
  let exponent = Math.floor(Math.log10(p))
  let mantissa = Math.round(p / 10 ** exponent)
  // 9.6e-10 rounds to 10e-10: write it 1e-9
  if (mantissa === 10) { mantissa = 1; exponent++ }
  return `≈${mantissa}e${exponent}/yr`
}
