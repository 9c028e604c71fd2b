// The parts of snarkjs 0.7 and ffjavascript 0.3 Quloud calls; neither ships types.
// Signatures follow their source (snarkjs/src/*.js, ffjavascript/src/*.js).

declare module 'ffjavascript' {
  /** A point or field element in the curve's internal (Montgomery, little-endian) form. */
  type Buf = Uint8Array

  interface WasmField {
    n8: number
    zero: Buf
    one: Buf
    e (value: bigint | number | string): Buf
    /** A bigint for Fq and Fr; [c0, c1] for Fq2. */
    fromObject (value: bigint | readonly bigint[]): Buf
    toObject (value: Buf): bigint
    add (a: Buf, b: Buf): Buf
    mul (a: Buf, b: Buf): Buf
    square (a: Buf): Buf
    neg (a: Buf): Buf
    eq (a: Buf, b: Buf): boolean
    isZero (a: Buf): boolean
    isSquare (a: Buf): boolean
    sqrt (a: Buf): Buf
    inv (a: Buf): Buf
    exp (a: Buf, exponent: bigint): Buf
  }

  interface WasmCurve {
    F: WasmField
    zeroAffine: Buf
    oneAffine: Buf
    b: Buf
    fromObject (value: unknown[]): Buf
    toObject (point: Buf): unknown[]
    toAffine (point: Buf): Buf
    toJacobian (point: Buf): Buf
    add (a: Buf, b: Buf): Buf
    neg (a: Buf): Buf
    eq (a: Buf, b: Buf): boolean
    isZero (a: Buf): boolean
    isValid (a: Buf): boolean
    timesScalar (point: Buf, scalar: bigint | Buf): Buf
  }

  interface BnCurve {
    name: string
    q: bigint
    r: bigint
    F1: WasmField
    F2: WasmField
    Fr: WasmField
    G1: WasmCurve
    G2: WasmCurve
    Gt: WasmField
    prepareG1 (point: Buf): Buf
    prepareG2 (point: Buf): Buf
    millerLoop (preparedG1: Buf, preparedG2: Buf): Buf
    finalExponentiation (value: Buf): Buf
    pairingEq (...args: Buf[]): Promise<boolean>
    terminate (): Promise<void>
  }

  /** Single-threaded curves are private; otherwise one process-wide curve with worker threads. */
  export function buildBn128 (singleThread?: boolean): Promise<BnCurve>
  export type { BnCurve, WasmCurve, WasmField }
}

declare module 'snarkjs' {
  import type { BnCurve } from 'ffjavascript'

  /** snarkjs accepts a file name or the file's bytes wherever it reads a file. */
  type FileInput = string | Uint8Array
  interface SnarkjsLogger {
    debug (...args: unknown[]): void
    info (...args: unknown[]): void
    warn (...args: unknown[]): void
    error (...args: unknown[]): void
    log? (...args: unknown[]): void
  }
  interface SnarkjsProof {
    pi_a: string[]
    pi_b: string[][]
    pi_c: string[]
    protocol: string
    curve: string
  }

  export const groth16: {
    prove (zkey: FileInput, witness: FileInput, logger?: SnarkjsLogger): Promise<{ proof: SnarkjsProof, publicSignals: string[] }>
    verify (vk: unknown, publicSignals: unknown[], proof: unknown, logger?: SnarkjsLogger): Promise<boolean>
  }
  export const powersOfTau: {
    newAccumulator (curve: BnCurve, power: number, fileName: string, logger?: SnarkjsLogger): Promise<unknown>
    contribute (oldPtau: string, newPtau: string, name: string, entropy: string, logger?: SnarkjsLogger): Promise<Uint8Array>
    preparePhase2 (oldPtau: string, newPtau: string, logger?: SnarkjsLogger): Promise<void>
    verify (ptau: string, logger?: SnarkjsLogger): Promise<boolean>
  }
  export const zKey: {
    newZKey (r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<unknown>
    contribute (oldZkey: string, newZkey: string, name: string, entropy: string, logger?: SnarkjsLogger): Promise<Uint8Array>
    verifyFromR1cs (r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<boolean>
    exportVerificationKey (zkey: FileInput, logger?: SnarkjsLogger): Promise<Record<string, unknown>>
  }
  export const curves: {
    getCurveFromName (name: string, options?: { singleThread?: boolean }): Promise<BnCurve>
  }
  export type { SnarkjsLogger, SnarkjsProof }
}
