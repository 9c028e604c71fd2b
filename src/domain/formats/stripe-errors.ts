import { defineError } from '../../errors.ts'

/** The scheme or shard size is beyond what this node's erasure codec can encode or decode. */
export const UnsupportedErasureSchemeError = defineError('UnsupportedErasureSchemeError', 'unsupported-erasure-scheme')
export type UnsupportedErasureSchemeError = InstanceType<typeof UnsupportedErasureSchemeError>

/** Fewer shards of a stripe than its data count are at hand: it cannot be decoded. */
export const TooFewShardsError = defineError('TooFewShardsError', 'too-few-shards')
export type TooFewShardsError = InstanceType<typeof TooFewShardsError>
