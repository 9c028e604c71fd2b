import type { PeerAllowance, TrustedPeer } from '../../app/admission/allowances.ts'
import { InvalidInputError, NotFoundError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ApiHandler } from './control-api-server.ts'

/** What the trust routes act on: the operator's trust list, and every peer's terms here. */
export interface TrustRoutesInit {
  trust: {
    list (): TrustedPeer[]
    add (peer: Omit<TrustedPeer, 'addedAt'>): Promise<TrustedPeer>
    remove (peerId: string): Promise<boolean>
  }
  allowances: (options?: AbortOptions) => Promise<PeerAllowance[]>
}

/** `quloud trust` and the allowance column of `quloud peers`; bodies are checked by the store. */
export function trustRoutes (init: TrustRoutesInit): Record<string, ApiHandler> {
  return {
    'GET /v1/trust': async () => ({ peers: init.trust.list() }),
    'POST /v1/trust/add': async (body) => {
      const { peerId, quota, name } = object(body)
      if (typeof peerId !== 'string') throw new InvalidInputError('"peerId" must be a peer id')
      if (typeof quota !== 'number') throw new InvalidInputError('"quota" must be a number of bytes')
      return init.trust.add({ peerId, quota, name: typeof name === 'string' ? name : '' })
    },
    'POST /v1/trust/remove': async (body) => {
      const { peerId } = object(body)
      if (typeof peerId !== 'string' || !await init.trust.remove(peerId)) throw new NotFoundError(`${String(peerId)} is not a trusted peer`)
      return { removed: peerId }
    },
    'GET /v1/allowances': async (_body, signal) => ({ peers: await init.allowances({ signal }) })
  }
}

function object (body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidInputError('expected a JSON object')
  return body as Record<string, unknown>
}
