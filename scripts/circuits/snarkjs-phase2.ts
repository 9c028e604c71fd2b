// snarkjs' phase-2 functions the ceremony needs beyond those src/types/snarkjs.d.ts
// declares for the node (which never runs a ceremony), typed from node_modules/snarkjs/src.
import * as snarkjs from 'snarkjs'
import type { SnarkjsLogger } from './snarkjs-log.ts'

interface Phase2 {
  /** Returns -1 when the r1cs and the ptau do not fit together. Deterministic: no randomness. */
  newZKey (r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<unknown>
  /** Returns the contribution hash (64 bytes). snarkjs hashes `entropy` with 64 bytes of its own randomness. */
  contribute (oldZkey: string, newZkey: string, name: string, entropy: string, logger?: SnarkjsLogger): Promise<Uint8Array>
  /** Deterministic given its inputs; returns the contribution hash, or false on a malformed hash or exponent. */
  beacon (oldZkey: string, newZkey: string, name: string, beaconHashHex: string, iterationsExp: number, logger?: SnarkjsLogger): Promise<Uint8Array | false>
  /**
   * Checks every contribution recorded in `zkey` and that it derives from `init` (a `newZKey` output) and the ptau.
   * Files are names or their bytes. Given names, it leaves the ptau open, and every file when a check fails
   * (Node warns of the leaked descriptors); given bytes, it opens none.
   */
  verifyFromInit (init: string | Uint8Array, ptau: string | Uint8Array, zkey: string | Uint8Array, logger?: SnarkjsLogger): Promise<boolean>
}

export const phase2 = snarkjs.zKey as unknown as Phase2
