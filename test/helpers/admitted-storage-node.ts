import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { silentLoggerFactory } from '../../src/adapters/logging/stderr-logger.ts'
import { openAdmission, type Admission } from '../../src/assembly/admission.ts'
import { startStandaloneStorageNode, type StandaloneStorageNode } from '../../src/assembly/standalone-storage-node.ts'

/** A standalone storage node on 127.0.0.1 admitting by the daemon's allowances (trust list and receipts in `dir`). */
export async function startAdmittedStorageNode (dir: string, config: { capacity: number, newcomerAllowance: number }): Promise<{ admission: Admission, node: StandaloneStorageNode, stop: () => Promise<void> }> {
  const admission = await openAdmission({ trustPath: join(dir, 'trust.json'), receiptsPath: join(dir, 'receipts'), config })
  try {
    const node = await startStandaloneStorageNode({
      chunksDir: join(dir, 'chunks'),
      metadataDir: join(dir, 'metadata'),
      atRestKey: randomBytes(32),
      capacity: config.capacity,
      allowanceOf: admission.allowanceOf,
      loggers: silentLoggerFactory
    })
    admission.attach(node.side)
    return { admission, node, stop: async () => { await node.stop(); await admission.close() } }
  } catch (err) {
    await admission.close()
    throw err
  }
}
