/**
 * Documented exit codes of the quloud command (also in `quloud --help` and README).
 * Scripts may rely on them; a code's meaning never changes.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  dataDir: 3,
  alreadyInitialized: 4,
  daemonNotRunning: 5,
  unauthorized: 6,
  config: 7,
  remote: 8,
  notFound: 9,
  invalidInput: 10,
  addressInUse: 11,
  stopTimeout: 12,
  partial: 13,
  /** 128 + SIGPIPE, what a shell reports for a command whose reader went away (`quloud ls | head`). */
  brokenPipe: 141
} as const

// Keyed by the error's code, not its class: an error from the daemon arrives as a code,
// and a client verb must not import every module that defines one. A test checks that
// every code defined anywhere is either here or in DEFAULT_EXIT below.
export const BY_ERROR_CODE: Readonly<Record<string, number>> = {
  'data-dir': EXIT.dataDir,
  'trust-file': EXIT.dataDir,
  'already-initialized': EXIT.alreadyInitialized,
  'daemon-not-running': EXIT.daemonNotRunning,
  unauthorized: EXIT.unauthorized,
  config: EXIT.config,
  'invalid-site': EXIT.config,
  'invalid-resume-grace': EXIT.config,
  'not-found': EXIT.notFound,
  'invalid-input': EXIT.invalidInput,
  'invalid-recovery-phrase': EXIT.invalidInput,
  'invalid-share-code': EXIT.invalidInput,
  'share-code-checksum': EXIT.invalidInput,
  'invalid-file-id': EXIT.invalidInput,
  'ambiguous-name': EXIT.invalidInput,
  'output-exists': EXIT.invalidInput,
  'output-link': EXIT.invalidInput,
  partial: EXIT.partial,
  'too-many-shares': EXIT.invalidInput,
  'invalid-short-code': EXIT.invalidInput,
  'short-code-mismatch': EXIT.invalidInput,
  'short-code-not-found': EXIT.notFound,
  'address-in-use': EXIT.addressInUse,
  'stop-timeout': EXIT.stopTimeout,
  'unsupported-erasure-scheme': EXIT.invalidInput,
  forbidden: EXIT.unauthorized,
  'dashboard-password-required': EXIT.config
}

/**
 * Codes deliberately left to the default (1, or 8 when the daemon reported them): the
 * message says what failed, and scripts have nothing to do differently about them.
 */
export const DEFAULT_EXIT: readonly string[] = [
  // cancelled or refused by the federation, or transport failures on the way
  'aborted', 'busy', 'capacity-full', 'quota-exceeded', 'expired', 'internal', 'protocol', 'connection-lost',
  'peer-timeout', 'write-stalled', 'peer-unreachable', 'unsupported-version', 'malformed', 'id-mismatch', 'invalid-proof', 'invalid-receipt',
  'invalid-announcement', 'no-storage-nodes', 'file-unavailable', 'catalogue-unavailable', 'catalogue-not-stored', 'catalogue-gap',
  'too-few-shards', 'shard-placement',
  // what the node holds or computed is damaged, or its machinery failed
  'storage', 'closed', 'too-large', 'at-rest-decryption', 'chunk-decryption', 'manifest-decryption',
  'catalogue-decryption', 'manifest-signature', 'catalogue-signature', 'tree-listing-signature', 'short-codes-unavailable', 'invalid-tree-listing', 'invalid-manifest', 'invalid-catalogue', 'invalid-pack', 'artefact-checksum', 'invalid-verification-key',
  'commitment-mismatch', 'proof-generation', 'proof-verification', 'malformed-proof', 'already-served', 'admission-not-attached',
  // malformed values that come from peers or stores rather than from the command line
  // (a multiaddr from config or a flag reaches the user wrapped as 'config', exit 7)
  'invalid-chunk-id', 'invalid-field-element', 'invalid-name', 'invalid-multiaddr', 'invalid-pake-share',
  // a sharer's node refusing a new offer (every nameplate taken, capability too large)
  'offer-refused',
  // `quloud local-federation`: a node did not start or exited; the message names its log
  'local-federation',
  // the running daemon has no such route: it runs other code than the CLI (restart it, says the message)
  'unknown-route'
]

/**
 * The exit code for an error's stable `code`. Unknown codes are failures (1), or
 * remote failures (8) when the daemon reported them.
 */
export function exitCodeFor (code: string | undefined, remote = false): number {
  return (code !== undefined ? BY_ERROR_CODE[code] : undefined) ?? (remote ? EXIT.remote : EXIT.failure)
}

export const EXIT_CODES_HELP = `
Exit codes:
  0   success
  1   failure not covered below (see the message)
  2   usage: unknown command or flag, bad flag value (e.g. a size)
  3   data directory missing, unreadable or holding no node
  4   init: a node already exists in the data directory
  5   no daemon is running for the data directory
  6   the daemon rejected the API key
  7   configuration file or value is invalid
  8   the operation failed on the daemon or in the federation
  9   not found
  10  invalid input (file id, share code, recovery phrase, existing output, a link in the output tree...)
  11  a listen or control API address is in use by another process
  12  stop: the daemon was still running when --timeout ended
  13  partial: done, except what the summary lists (sockets, fifos, devices put cannot store)
  141 standard output was closed early (broken pipe, e.g. \`quloud ls | head\`)
With --json, an error is also printed on standard output as
  {"error": {"code": "...", "message": "...", "exitCode": N}}`
