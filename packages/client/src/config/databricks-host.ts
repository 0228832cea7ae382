/** Databricks workspace hosts: normalised like the SDKs do, and plain http:// refused unless the host is loopback. */
import { invalid } from './invalid.js';

/**
 * Normalise a workspace host the way the Databricks SDKs do: add `https://` when there is no scheme, keep only
 * `scheme://host[:port]`, and drop the default `:443`. Refuses `http://` unless the host is loopback.
 */
export function normalizeDatabricksHost(raw: string, source = 'DATABRICKS_HOST'): string {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (cause) {
    throw invalid(
      `Malformed Databricks host '${raw}'.`,
      'Set DATABRICKS_HOST to the workspace URL, e.g. https://dbc-1234.cloud.databricks.com.',
      cause,
    );
  }
  if (!url.hostname) throw invalid(`Malformed Databricks host '${raw}'.`, 'Set DATABRICKS_HOST to the workspace URL.');
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw invalid(
      `Refusing http://${url.hostname} (${source}): workspace credentials (a PAT, an OAuth secret) would be sent in ` +
        'cleartext.',
      `Use https://${url.hostname}${url.port ? `:${url.port}` : ''} in ${source}; plain http:// is accepted only for ` +
        'a loopback host (localhost, 127.0.0.1, ::1), such as the local emulator.',
    );
  }
  const port = url.port && !(url.protocol === 'https:' && url.port === '443') ? `:${url.port}` : '';
  return `${url.protocol}//${url.hostname}${port}`;
}

/** localhost (and *.localhost), 127.0.0.0/8 and ::1: traffic that never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1') return true;
  return /^127(\.\d{1,3}){3}$/.test(host);
}
