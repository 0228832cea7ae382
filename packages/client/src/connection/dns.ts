/**
 * DNS with a fallback. The system resolver (`getaddrinfo`, via `dns.lookup`) is asked first; when it fails, names
 * under `.localhost` resolve to loopback (RFC 6761), and other names are queried from DNS directly
 * (`dns.promises.resolve4`/`resolve6`, c-ares, no subprocess). pg gets a `stream` factory whose socket connects to the resolved address, while pg keeps `host`
 * as the name, so TLS SNI and certificate checks still use the host name.
 */
import dns from 'node:dns';
import net from 'node:net';
import { LakebaseError } from '../errors.js';

/** The direct-DNS half, injectable for tests. */
export interface Resolver {
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
}

export type SystemLookup = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

export interface DnsOptions {
  /** Direct DNS resolver (default `dns.promises`). */
  resolver?: Resolver;
  /** System lookup (default `dns.lookup`). */
  systemLookup?: SystemLookup;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  /** `system`: getaddrinfo answered; `dns`: the direct query fallback; `localhost`: RFC 6761 loopback. */
  via: 'system' | 'dns' | 'localhost';
}

const defaultSystemLookup: SystemLookup = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * Resolve `hostname`: system lookup first, then the fallback.
 * @throws LakebaseError `LAKEBASE_DNS_FAILED` when every method fails.
 */
export async function resolveHost(hostname: string, options: DnsOptions = {}): Promise<ResolvedAddress[]> {
  if (net.isIP(hostname)) return [{ address: hostname, family: net.isIP(hostname) === 6 ? 6 : 4, via: 'system' }];
  const system = options.systemLookup ?? defaultSystemLookup;
  let systemError: unknown;
  try {
    const found = await new Promise<dns.LookupAddress[]>((resolve, reject) =>
      system(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
    );
    if (found.length > 0)
      return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4, via: 'system' }));
  } catch (error) {
    systemError = error;
  }
  return fallbackResolve(hostname, options.resolver ?? dns.promises, systemError);
}

async function fallbackResolve(hostname: string, resolver: Resolver, systemError: unknown): Promise<ResolvedAddress[]> {
  // RFC 6761: names under .localhost are loopback and are not sent to DNS.
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost'))
    return [{ address: '127.0.0.1', family: 4, via: 'localhost' }];
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
  const out: ResolvedAddress[] = [];
  if (v4.status === 'fulfilled') for (const address of v4.value) out.push({ address, family: 4, via: 'dns' });
  if (v6.status === 'fulfilled') for (const address of v6.value) out.push({ address, family: 6, via: 'dns' });
  if (out.length > 0) return out;
  const code = (systemError as { code?: unknown } | undefined)?.code;
  throw new LakebaseError(
    'LAKEBASE_DNS_FAILED',
    `Cannot resolve host '${hostname}'${typeof code === 'string' ? ` (${code})` : ''}.`,
    {
      suggestion:
        'Check PGHOST / LAKEBASE_HOST (or the instance/endpoint host) for typos and that DNS works from this network (VPN, proxy).',
      cause: systemError,
      details: { host: hostname },
    },
  );
}

/** A `lookup` function for `net.connect` that uses {@link resolveHost}. */
export function createLookup(options: DnsOptions = {}): net.LookupFunction {
  return (hostname, lookupOptions, callback) => {
    resolveHost(hostname, options).then(
      (addresses) => {
        const wanted = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : undefined;
        const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
        const list = usable.length > 0 ? usable : addresses;
        if (lookupOptions.all) {
          (callback as unknown as (err: null, addresses: dns.LookupAddress[]) => void)(
            null,
            list.map((a) => ({ address: a.address, family: a.family })),
          );
        } else {
          const first = list[0] as ResolvedAddress;
          callback(null, first.address, first.family);
        }
      },
      (error: unknown) => {
        const err = Object.assign(new Error((error as Error).message), { code: 'ENOTFOUND', hostname, cause: error });
        callback(err as NodeJS.ErrnoException, '', 0);
      },
    );
  };
}

/**
 * A pg `stream` factory: a plain `net.Socket` whose `connect(port, host)` resolves `host` with {@link createLookup}.
 * pg still upgrades it to TLS with `servername = host`.
 */
export function createStreamFactory(options: DnsOptions = {}): () => net.Socket {
  const lookup = createLookup(options);
  return () => {
    const socket = new net.Socket();
    const connect = socket.connect.bind(socket) as (target: net.TcpSocketConnectOpts | string) => net.Socket;
    // pg calls connect(port, host) for TCP and connect(path) for a Unix socket.
    (socket as unknown as { connect: (port: number | string, host?: string) => net.Socket }).connect = (port, host) =>
      host === undefined && typeof port === 'string' ? connect(port) : connect({ port: Number(port), host, lookup });
    return socket;
  };
}
