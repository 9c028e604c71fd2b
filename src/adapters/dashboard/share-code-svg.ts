import * as QRCode from 'qrcode'
import { decodeShareCode, encodeShareCode } from '../../domain/formats/share-code.ts'

/**
 * The share code's QR as SVG for the dashboard, drawn here rather than in the page so
 * the browser needs no QR library. It encodes the canonical printed form, as the
 * terminal QR of `quloud share` does (src/cli/share-code-qr.ts), so both scan to the
 * same text and `receive` reads either.
 */
export async function shareCodeSvg (text: string): Promise<{ code: string, svg: string }> {
  const code = encodeShareCode(decodeShareCode(text))
  return { code, svg: await QRCode.toString(code, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 }) }
}
