import * as QRCode from 'qrcode'
import { decodeShareCode, encodeShareCode } from '../domain/formats/share-code.ts'

export interface ShareCodeQrOptions {
  /**
   * True (default): ANSI colours set black on white explicitly, so phones read it on
   * dark and light terminal themes alike, two modules per character row. False: plain
   * UTF-8 blocks for output without colours (dark modules drawn as full blocks, which
   * on a dark theme shows the code inverted; most phone scanners still read it).
   */
  ansi?: boolean
}

/**
 * A QR code of the share code for a terminal. It encodes the canonical printed form
 * (upper case, digits and '-' only), which QR's alphanumeric mode packs in 5.5 bits
 * per character, so the symbol stays small (version 4, 33 modules, at level M: 19 terminal
 * lines with the quiet zone, so QR and code fit an 80×24 terminal); scanning it gives
 * text that `decodeShareCode` reads.
 */
export async function shareCodeQr (text: string, options?: ShareCodeQrOptions): Promise<string> {
  const canonical = encodeShareCode(decodeShareCode(text))
  if (options?.ansi === false) return await QRCode.toString(canonical, { type: 'utf8', errorCorrectionLevel: 'M', margin: 2 })
  return await QRCode.toString(canonical, { type: 'terminal', small: true, errorCorrectionLevel: 'M' })
}
