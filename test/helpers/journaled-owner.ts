import { FileWorkJournal } from '../../src/adapters/data-dir/file-work-journal.ts'
import { silentLoggerFactory } from '../../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../../src/app/owner/owner-service.ts'
import { OwnerJournal, type OwnerJournalOptions } from '../../src/app/owner/work-in-flight.ts'
import type { ErasureCodec } from '../../src/ports/erasure-codec.ts'
import type { MemoryCache, MemoryFederation } from './memory-federation.ts'

export interface JournaledOwner {
  owner: OwnerService
  journal: OwnerJournal
  deps: ConstructorParameters<typeof OwnerService>[0]
  catalogue: CatalogueService
}

/**
 * An owner daemon in-process with its work journal in the file `journalPath`: a second
 * one over the same file is that daemon restarted (the journal's in-memory state, what
 * this process ran or abandoned, is gone).
 */
export function journaledOwner (init: { master: Uint8Array, federation: MemoryFederation, cache: MemoryCache, journalPath: string, codec?: ErasureCodec } & OwnerJournalOptions): JournaledOwner {
  const journal = new OwnerJournal(new FileWorkJournal(init.journalPath), init)
  const deps = { master: init.master, federation: init.federation, log: silentLoggerFactory('test'), journal, ...(init.codec === undefined ? {} : { codec: init.codec }) }
  const catalogue = new CatalogueService({ ...deps, cache: init.cache, replicas: 3 })
  return { owner: new OwnerService(deps, catalogue), journal, deps, catalogue }
}
