import { multiaddr } from '@multiformats/multiaddr'
import { defineError } from '../../errors.ts'

/** The text is not a multiaddr. */
export const InvalidMultiaddrError = defineError('InvalidMultiaddrError', 'invalid-multiaddr')

/** One protocol of a multiaddr: `ip4` with value `203.0.113.7`, `p2p` with a peer id… */
export interface MultiaddrComponent {
  name: string
  value?: string
}

export interface ParsedMultiaddr {
  /** The canonical text form. */
  text: string
  components: MultiaddrComponent[]
}

/**
 * Reads a multiaddr's text form. Multiaddr is a self-describing address format
 * (multiformats), like the CID of a chunk id: the domain reads it with the
 * multiformats codec and nothing else of the network stack, and only through this
 * module, so configuration and announcements agree on what an address is.
 */
export function parseMultiaddrText (text: unknown): ParsedMultiaddr {
  if (typeof text !== 'string') throw new InvalidMultiaddrError('not a string')
  try {
    const parsed = multiaddr(text)
    return { text: parsed.toString(), components: parsed.getComponents().map((c) => ({ name: c.name, ...(c.value === undefined ? {} : { value: c.value }) })) }
  } catch (err) {
    throw new InvalidMultiaddrError(`not a multiaddr: ${JSON.stringify(text.slice(0, 200))}`, { cause: err })
  }
}
