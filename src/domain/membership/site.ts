import { ConfigError, defineError } from '../../errors.ts'

/**
 * An operator-declared site: the household, flat or rack a node stands in, so that
 * placement counts the boxes of one place as one failure domain even when they reach
 * the internet through different ISPs. Announced in version 2 announcements
 * (protocol-spec/announce.md, "Sites").
 *
 * 1–32 characters of lower-case letters, digits, `.`, `_` and `-`, starting and ending
 * with a letter or digit: short enough to show in `quloud peers`, printable, and one
 * spelling per site (no case or space variants that would split one flat in two).
 */
export const MAX_SITE_LENGTH = 32

const SITE = /^[a-z0-9](?:[a-z0-9._-]{0,30}[a-z0-9])?$/

/** A site name that does not follow the rule above (a ConfigError: it comes from config or a flag). */
export const InvalidSiteError = defineError('InvalidSiteError', 'invalid-site', ConfigError)
export type InvalidSiteError = InstanceType<typeof InvalidSiteError>

export function isSiteName (value: unknown): value is string {
  return typeof value === 'string' && SITE.test(value)
}

/** Returns `value` when it is a site name; throws InvalidSiteError saying the rule otherwise. */
export function checkSiteName (value: unknown, source = 'site'): string {
  if (isSiteName(value)) return value
  throw new InvalidSiteError(`${source}: a site is 1-${MAX_SITE_LENGTH} characters of a-z, 0-9, ".", "_" and "-", starting and ending with a letter or digit (such as home-berlin), got ${JSON.stringify(value)}`)
}
