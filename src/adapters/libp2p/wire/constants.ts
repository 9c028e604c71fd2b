/** Protocol ids and limits of the federation wire protocols (protocol-spec/README.md). */

export const STORE_PROTOCOL = '/quloud/store/2.0.0'
export const RETRIEVE_PROTOCOL = '/quloud/retrieve/2.0.0'
export const DELETE_PROTOCOL = '/quloud/delete/2.0.0'

/**
 * The version 1 ids: a v2 node still answers them, with one UNSUPPORTED_VERSION frame,
 * so an old peer reports "upgrade" instead of "protocol not supported" (which it would
 * read as an unreachable node and fail over without end).
 */
export const V1_PROTOCOLS = { store: '/quloud/store/1.0.0', retrieve: '/quloud/retrieve/1.0.0', delete: '/quloud/delete/1.0.0' } as const

/** Largest owner-layer chunk a node accepts: 1 MiB of plaintext plus generous overhead. */
export const MAX_CHUNK_BYTES = 1024 * 1024 + 1024
/** Largest frame that may carry a chunk (StoreRequest, ChunkData). */
export const MAX_DATA_FRAME_BYTES = MAX_CHUNK_BYTES + 4096
/** Largest frame of any other message. */
export const MAX_CONTROL_FRAME_BYTES = 4096

/** A peer that sends nothing for this long mid-stream is dropped. */
export const IDLE_TIMEOUT_MS = 20_000
/** A whole stream may not last longer than this. */
export const MAX_STREAM_LIFETIME_MS = 15 * 60_000
/**
 * How long a challenge may be answered. Shorter than IDLE_TIMEOUT_MS: the node drops a
 * stream silent for that long, so a longer lifetime would promise time the stream does
 * not give; with it shorter, a slow prover sees EXPIRED, the code that says what happened.
 */
export const CHALLENGE_TTL_MS = 15_000
/** How long a verified proof keeps a session open on its connection. */
export const SESSION_TTL_MS = 5 * 60_000

/**
 * Most chunk ids one listing may return (100 pages of 1,000): a node that keeps saying
 * `more` is lying or holds more under one commitment than any file has chunks (100 GB
 * at 1 MiB), and the requester stops instead of gathering ids until memory runs out.
 */
export const MAX_LISTED_CHUNK_IDS = 100_000
/** Most chunk ids one `chunk_list` page may carry (retrieve.md); a requester refuses a longer page. */
export const MAX_CHUNK_IDS_PER_PAGE = 1000

/** Most chunk ids one `renew` may name (leases.md): a file's chunks in a few requests per holder. */
export const MAX_RENEW_CHUNK_IDS = 1000
/**
 * Largest frame of a delete session's requests: a `renew` of MAX_RENEW_CHUNK_IDS ids of
 * 59 characters with their tags (~61 KB); every other request there is a control frame.
 */
export const MAX_RENEW_FRAME_BYTES = 64 * 1024

/** Requests of one stream a node works on at once; more wait (back-pressure). */
export const REQUESTS_IN_PROGRESS_PER_STREAM = 8

/**
 * Inbound streams of one budgeted protocol (store, retrieve, delete) a single connection
 * may have open, as libp2p counts them: Yamux's own limit, above every budget, so that
 * every stream reaches the handler and the budgets (per peer 64, the strangers' stream
 * rate per subnet). At 32, libp2p reset the others itself after negotiating them,
 * uncounted: under bench hostile partial 9,204 streams in 10 s, 406 of them counted.
 */
export const MAX_INBOUND_STREAMS_PER_CONNECTION = 1000
/** The same for the v1 ids, which only answer UNSUPPORTED_VERSION outside the budgets. */
export const MAX_INBOUND_V1_STREAMS_PER_CONNECTION = 32
/** Inbound streams of all Quloud protocols one peer may have open. */
export const MAX_STREAMS_PER_PEER = 64
/** Requests (frames) one peer may send per second, averaged over RATE_WINDOW_S. */
export const MAX_REQUESTS_PER_SECOND = 2000
export const RATE_WINDOW_S = 10

/**
 * The most one stream's peer may send before we read (yamux's largest receive window,
 * create-host.ts). Yamux grants a readable stream its window again as data arrives, so
 * a budgeted reader reserves this much before the bytes can come (paced-reader.ts):
 * every inbound stream costs it. Yamux's own default (16 MiB) let a stranger park
 * ~5.7 MiB per backed-up stream the budget never saw; `npm run bench -- transport`
 * weighs what a smaller one costs in throughput.
 */
export const STREAM_WINDOW_BYTES = 1024 * 1024

/**
 * What libp2p may hold for a paused stream before it resets it: at most the window
 * arrives once we pause, so an honest peer pipelining when we paused is never reset
 * for it, with room for the frame that was arriving.
 */
export const MAX_PAUSED_READ_BYTES = 2 * STREAM_WINDOW_BYTES
