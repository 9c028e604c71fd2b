import type { Logger } from '../ports/logger.ts'

/**
 * The undo list of a half being assembled: each part pushes how to stop it as soon as
 * it exists, so a failure half-way through start-up stops exactly what was started,
 * in reverse order (what was built later depends on what was built earlier). A step
 * that fails is logged and the others still run; running twice does nothing more.
 */
export class Shutdown {
  private readonly steps: Array<() => Promise<unknown>> = []
  private readonly log: Logger
  private readonly message: string

  constructor (log: Logger, message = 'shutdown step failed') {
    this.log = log
    this.message = message
  }

  push (step: () => Promise<unknown>): void {
    this.steps.push(step)
  }

  async run (): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      await step().catch((err) => this.log.error(this.message, err))
    }
  }
}
