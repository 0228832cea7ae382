import type { AddressInfo } from 'node:net';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from './errors.js';

/** Who is calling. In Databricks Apps the proxy authenticates the user and forwards these headers. */
export interface Identity {
  email: string;
  /** `X-Forwarded-Preferred-Username`, when the proxy sends it. */
  userName?: string | undefined;
  /** `proxy`: from the Apps proxy headers; `dev-user`: the configured local development user. */
  source: 'proxy' | 'dev-user';
}

export interface IdentityOptions {
  /**
   * Production: a request without `X-Forwarded-Email` has no identity (401). A server listening beyond loopback
   * (`0.0.0.0`, a LAN address) behaves so too, whatever this says: anyone on the network could otherwise be the dev user.
   */
  production: boolean;
  /** Local mode only, and only while bound to loopback (or not listening: `inject`): who a request without the header is. */
  devUser: string;
  /**
   * Running on Databricks Apps, whose proxy sets `X-Forwarded-Email` itself and is the only way in. Anywhere else a
   * server bound beyond loopback logs {@link EXPOSED_WARNING} once at start: nothing there stops a client from sending
   * the header itself.
   */
  databricksApps?: boolean;
}

/** The start-up warning of a server that trusts the identity header from the network (stable text: alerts match it). */
export const EXPOSED_WARNING =
  'identity header trusted from any client: this server listens beyond loopback outside Databricks Apps, so anyone ' +
  'who can reach it can send X-Forwarded-Email and act as any user. Put it behind a proxy that sets ' +
  'X-Forwarded-Email and drops the one clients send, or listen on 127.0.0.1 only.';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity | undefined;
  }
}

const MAX_EMAIL_LENGTH = 320;

/** Reads the caller's identity into `request.identity` on every request. */
export const identityPlugin = fp<IdentityOptions>(
  async (fastify, options) => {
    fastify.decorateRequest('identity', undefined);
    // Decided from the addresses the server is bound to, on the first request that arrives while listening (so a
    // request can never be served before the decision), and kept: a server does not change its addresses.
    let requireProxy = options.production ? true : undefined;
    const proxyRequired = (): boolean => {
      if (requireProxy !== undefined) return requireProxy;
      if (!fastify.server.listening) return false; // inject(): no network at all
      requireProxy = !fastify.addresses().every(isLoopbackAddress);
      return requireProxy;
    };
    // A callback hook, not an async one: it does no I/O, and an async hook costs a promise on every request.
    fastify.addHook('onRequest', (request, _reply, done) => {
      request.identity = identify(request, proxyRequired(), options.devUser);
      done();
    });
    fastify.addHook('onListen', async () => {
      const exposed = fastify.addresses().filter((address) => !isLoopbackAddress(address));
      if (options.databricksApps || exposed.length === 0) return;
      fastify.log.warn({ addresses: exposed.map(formatAddress) }, EXPOSED_WARNING);
    });
  },
  { name: 'identity', fastify: '5.x' },
);

function identify(request: FastifyRequest, requireProxy: boolean, devUser: string): Identity | undefined {
  const email = header(request, 'x-forwarded-email');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (email && email.length <= MAX_EMAIL_LENGTH && !/[\u0000-\u001f\u007f]/.test(email)) {
    return { email, userName: header(request, 'x-forwarded-preferred-username'), source: 'proxy' };
  }
  // Locally the header can still be sent (to try several users); without it, you are the dev user.
  return requireProxy ? undefined : { email: devUser, source: 'dev-user' };
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped), or a Unix socket path: reachable from this machine only. */
function isLoopbackAddress(address: AddressInfo | string): boolean {
  if (typeof address === 'string') return true;
  const host = address.address.replace(/^::ffff:/i, '');
  return host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function formatAddress(address: AddressInfo | string): string {
  if (typeof address === 'string') return address;
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first === undefined ? undefined : decodeUtf8(first)?.trim();
  return trimmed ? trimmed : undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node reads header bytes as latin1, so the UTF-8 `bü@example.com` arrives as `bÃ¼@example.com`: decode those bytes
 * as UTF-8. Invalid UTF-8 gives undefined (no such header). A value with characters beyond latin1 did not come off
 * the wire (`inject`) and is already text.
 */
function decodeUtf8(value: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: pure ASCII, the common case, needs no decoding
  if (/^[\u0000-\u007f]*$/.test(value) || /[^\u0000-\u00ff]/.test(value)) return value;
  try {
    return UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return undefined;
  }
}

/** The caller's identity, or a 401 in the API's error shape. */
export function requireIdentity(request: FastifyRequest): Identity {
  if (request.identity) return request.identity;
  throw new AppError('UNAUTHENTICATED', 'No user identity on this request.');
}
