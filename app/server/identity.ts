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
  /** Production: a request without `X-Forwarded-Email` has no identity (401). */
  production: boolean;
  /** Local mode only: who a request without the header is. */
  devUser: string;
}

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
    fastify.addHook('onRequest', async (request) => {
      request.identity = identify(request, options);
    });
  },
  { name: 'identity', fastify: '5.x' },
);

function identify(request: FastifyRequest, options: IdentityOptions): Identity | undefined {
  const email = header(request, 'x-forwarded-email');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (email && email.length <= MAX_EMAIL_LENGTH && !/[\u0000-\u001f\u007f]/.test(email)) {
    return { email, userName: header(request, 'x-forwarded-preferred-username'), source: 'proxy' };
  }
  // Locally the header can still be sent (to try several users); without it, you are the dev user.
  return options.production ? undefined : { email: options.devUser, source: 'dev-user' };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first?.trim();
  return trimmed ? trimmed : undefined;
}

/** The caller's identity, or a 401 in the API's error shape. */
export function requireIdentity(request: FastifyRequest): Identity {
  if (request.identity) return request.identity;
  throw new AppError(
    401,
    'UNAUTHENTICATED',
    'No user identity on this request.',
    'AuthenticationError',
    'Open the app through its Databricks Apps URL: the Apps proxy signs you in and forwards X-Forwarded-Email.',
  );
}
