import { InvalidInputError } from '../../errors.ts'
import { isChunkId } from '../../domain/formats/chunk-id.ts'
import type { ChunkRecord } from '../../ports/metadata-store.ts'

const COMMITMENT = /^[0-9]{1,78}$/

/** The checks every MetadataStore adapter makes before a record reaches its medium. */
export function checkRecord (record: ChunkRecord): void {
  if (!isChunkId(record.chunkId)) throw new InvalidInputError('record has an invalid chunk id')
  if (typeof record.commitment !== 'string' || !COMMITMENT.test(record.commitment)) throw new InvalidInputError('record commitment must be a decimal field element')
  if (!Number.isSafeInteger(record.size) || record.size < 0) throw new InvalidInputError('record size must be a non-negative integer')
  // '!' separates the parts of the LevelDB keys
  if (typeof record.storedBy !== 'string' || record.storedBy.length === 0 || record.storedBy.includes('!')) throw new InvalidInputError('record storedBy must be a peer id')
  if (!Number.isSafeInteger(record.storedAt)) throw new InvalidInputError('record storedAt must be a timestamp')
}
