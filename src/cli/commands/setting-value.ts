import { InvalidArgumentError } from 'commander'

/**
 * A setting's value as typed on the command line: JSON when it parses as JSON
 * (`false`, `4`, `["/ip4/1.2.3.4/tcp/4101/p2p/12D3…"]`), the text itself otherwise
 * (`500GB`, `30s`, `my-federation`). parseNodeConfig then checks it as config.json's value.
 */
export function settingValue (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** `KEY=VALUE` of `init --set`, collected into one object (a usage error when malformed). */
export function collectSetting (text: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const equals = text.indexOf('=')
  if (equals < 1) throw new InvalidArgumentError(`expected KEY=VALUE, got ${JSON.stringify(text)}`)
  return { ...previous, [text.slice(0, equals)]: settingValue(text.slice(equals + 1)) }
}
