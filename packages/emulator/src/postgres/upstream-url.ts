import { EmulatorError } from '../errors.js';

/**
 * Parses an upstream admin URL, or fails with EMULATOR_UPSTREAM_INVALID. The value is not repeated in the message:
 * it may hold a password.
 */
export function parseUpstreamUrl(value: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {}
  if (!url || (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') || !url.hostname) {
    throw new EmulatorError(
      'EMULATOR_UPSTREAM_INVALID',
      url
        ? `The upstream URL must start with postgresql:// and name a host, got ${url.protocol}//...`
        : 'The upstream is not a URL.',
      'Pass the admin URL of a PostgreSQL server, e.g. --upstream postgresql://postgres@127.0.0.1:5432/test.',
    );
  }
  return url;
}
