// The ceremony's failures. Scripts only: the quloud command never runs a ceremony, so
// these have no entry in src/cli/exit-codes.ts; scripts/ceremony.ts maps them to its
// own documented exit codes (circuits/README.md).
import { defineError } from '../../src/errors.ts'

/** The chain does not check out: a zkey, a transcript entry or a derived artefact differs from what it should be. */
export const CeremonyChainError = defineError('CeremonyChainError', 'ceremony-chain')
export type CeremonyChainError = InstanceType<typeof CeremonyChainError>

/** The step does not fit the chain's state: `start` on an existing chain, a contribution after the beacon. */
export const CeremonyStateError = defineError('CeremonyStateError', 'ceremony-state')
export type CeremonyStateError = InstanceType<typeof CeremonyStateError>

/** A command-line argument is missing or out of range (a name, a beacon hash, an iteration count). */
export const CeremonyUsageError = defineError('CeremonyUsageError', 'ceremony-usage')
export type CeremonyUsageError = InstanceType<typeof CeremonyUsageError>
