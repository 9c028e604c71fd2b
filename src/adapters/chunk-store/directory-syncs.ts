import { open } from 'node:fs/promises'

interface Entry { running: Promise<void>, queued?: Promise<void> }

/**
 * Directory fsyncs shared by the writes that need them (group commit per directory):
 * a caller that arrives while a sync of its directory runs cannot count on that one,
 * which may have started before its rename, so it waits for the next; everyone who
 * arrives meanwhile shares that next sync.
 */
export class DirectorySyncs {
  private readonly entries = new Map<string, Entry>()
  private readonly syncOne: (dir: string) => Promise<void>

  constructor (syncOne = syncDir) {
    this.syncOne = syncOne
  }

  async sync (dir: string): Promise<void> {
    const entry = this.entries.get(dir)
    if (entry === undefined) return this.start(dir)
    entry.queued ??= entry.running.then(noop, noop).then(async () => this.start(dir))
    return entry.queued
  }

  private async start (dir: string): Promise<void> {
    const entry: Entry = { running: this.syncOne(dir) }
    this.entries.set(dir, entry)
    void entry.running.then(noop, noop).then(() => {
      if (this.entries.get(dir) === entry && entry.queued === undefined) this.entries.delete(dir)
    })
    return entry.running
  }
}

export async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function noop (): void {}
