/**
 * One error class for everything the library reports: a stable `code`, a human `message`, a `suggestion` that says
 * what to do, and the underlying `cause`. Messages, suggestions and `toJSON()` are passed through {@link redact}, so a
 * token or secret never reaches a log line even if it slipped into the text of a lower-level error.
 */

import type { LakebaseErrorCode } from './error-codes.js';

export type { LakebaseErrorCode } from './error-codes.js';

/** Extra, non-secret facts about an error (HTTP status, REST error code, the step that failed...). */
export type LakebaseErrorDetails = Record<string, string | number | boolean | undefined>;

export interface LakebaseErrorOptions {
  suggestion?: string;
  cause?: unknown;
  details?: LakebaseErrorDetails;
  /** True when retrying the same operation later may succeed (network trouble, 429, 5xx). */
  retryable?: boolean;
}

/**
 * The brand every {@link LakebaseError} carries on its prototype. `Symbol.for` makes it the same symbol in every copy
 * of the package in a process (the ESM and the CommonJS build, two versions in `node_modules`), so an error made by
 * one copy is recognised by another, where `instanceof` on its own would compare two different classes.
 */
const BRAND: unique symbol = Symbol.for('@lakebase-kit/client.LakebaseError') as never;

/**
 * The one error class of the library. `code` is stable; `message` and `suggestion` are for people.
 * `instanceof LakebaseError` and {@link isLakebaseError} both go by the brand, so both hold for an error made by
 * another copy of the package (the other build) in the same process.
 */
export class LakebaseError extends Error {
  /** An error from any copy of the package is a LakebaseError; a subclass still gets the ordinary prototype check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof (maybe a subclass)
    if (this !== LakebaseError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return hasBrand(value);
  }

  override readonly name = 'LakebaseError';
  readonly code: LakebaseErrorCode;
  readonly suggestion: string | undefined;
  readonly details: LakebaseErrorDetails;
  readonly retryable: boolean;

  constructor(code: LakebaseErrorCode, message: string, options: LakebaseErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.suggestion = options.suggestion === undefined ? undefined : redact(options.suggestion);
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? false;
  }

  /** A plain, secret-free object: what `JSON.stringify(error)` prints. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      suggestion: this.suggestion,
      details: redactDetails(this.details),
      cause: describeCause(this.cause),
    };
  }
}

// Non-enumerable and on the prototype: not an own property, so it never shows in JSON, inspect or Object.keys.
Object.defineProperty(LakebaseError.prototype, BRAND, { value: true });

function hasBrand(value: unknown): value is LakebaseError {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/**
 * True when `value` is a {@link LakebaseError}, optionally with the given code. Recognises errors of every copy of
 * the package in the process (by a `Symbol.for` brand), not only of this one.
 */
export function isLakebaseError(value: unknown, code?: LakebaseErrorCode): value is LakebaseError {
  return hasBrand(value) && (code === undefined || value.code === code);
}

function describeCause(cause: unknown): unknown {
  if (cause === undefined || cause === null) return undefined;
  if (cause instanceof LakebaseError) return cause.toJSON();
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return { name: cause.name, message: redact(cause.message), code: typeof code === 'string' ? code : undefined };
  }
  return redact(String(cause));
}

function redactDetails(details: LakebaseErrorDetails): LakebaseErrorDetails {
  const out: LakebaseErrorDetails = {};
  for (const [key, value] of Object.entries(details)) out[key] = typeof value === 'string' ? redact(value) : value;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Redaction

const REDACTED = '[REDACTED]';
const MAX_KNOWN_SECRETS = 256;
const knownSecrets: string[] = [];
/** Below this length a secret is matched as a whole word only. */
const SHORT_SECRET_LENGTH = 8;
const shortSecrets: { value: string; pattern: RegExp }[] = [];

/** JWTs (three base64url parts, the first starting `eyJ`), Databricks PATs (`dapi…`) and OAuth secrets (`dose…`). */
const SECRET_PATTERNS: RegExp[] = [
  /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /\bdapi[0-9a-f]{16,}(?:-\d+)?\b/g,
  /\bdose[0-9a-f]{16,}\b/g,
];
/** `password=…`, `token=…` fragments in URLs and connection strings. */
const SECRET_ASSIGNMENT = /\b(password|token|secret|client_secret)=([^\s&;]+)/gi;
/** The password part of a `postgresql://user:password@host` URL. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)([^@/?#\s]+)@/gi;

/**
 * Remember a secret value (a token, a client secret, a password) so {@link redact} removes it from any text later,
 * whatever its length: a server that echoes `Bearer abc1234` back must not get a short secret printed. A secret
 * shorter than {@link SHORT_SECRET_LENGTH} is removed only where it stands alone (not inside a longer word or
 * token), so a short password does not redact ordinary words that contain it.
 */
export function registerSecret(value: string | undefined): void {
  if (!value || knownSecrets.includes(value) || shortSecrets.some((s) => s.value === value)) return;
  if (value.length >= SHORT_SECRET_LENGTH) {
    knownSecrets.push(value);
    if (knownSecrets.length > MAX_KNOWN_SECRETS) knownSecrets.shift();
    return;
  }
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  shortSecrets.push({ value, pattern: new RegExp(`(?<![A-Za-z0-9_-])${escaped}(?![A-Za-z0-9_-])`, 'g') });
  if (shortSecrets.length > MAX_KNOWN_SECRETS) shortSecrets.shift();
}

/** Replace every known secret and anything that looks like a token in `text` with `[REDACTED]`. */
export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const secret of shortSecrets) {
    if (out.includes(secret.value)) out = out.replace(secret.pattern, REDACTED);
  }
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, REDACTED);
  out = out.replace(SECRET_ASSIGNMENT, (_match, key: string) => `${key}=${REDACTED}`);
  return out.replace(URL_PASSWORD, (_match, prefix: string) => `${prefix}${REDACTED}@`);
}
