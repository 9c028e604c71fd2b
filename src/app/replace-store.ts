import type { StoreChannel } from '../ports/federation-client.ts'

/**
 * `channel` with its `store` replaced, its room-left and close as they are: what a
 * FederationClient decorator that changes or observes stores (receipts, traffic,
 * lease commitments) builds, instead of each copying the rest of the channel.
 */
export function replaceStore (channel: StoreChannel, store: StoreChannel['store']): StoreChannel {
  return {
    store,
    ...(channel.roomLeft === undefined ? {} : { roomLeft: channel.roomLeft }),
    close: async (...args) => channel.close(...args)
  }
}
