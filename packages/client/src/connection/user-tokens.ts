/**
 * Users' tokens, remembered only by SHA-256: which identity each one's credential named, that credential, when the
 * workspace last accepted the token and when the token itself expires.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../time.js';
import { type DatabaseCredential, jwtClaims } from '../workspace/api.js';
import { fresh, userTokenExpired } from './user-pool-errors.js';

/** Tokens remembered (hash -> identity and credential) at least; more with a larger `maxUsers`. */
const KNOWN_TOKENS_MIN = 1000;

/** What a token was found to be: the identity its credential was for, and that credential. */
export interface KnownToken {
  identity: string;
  credential: DatabaseCredential;
  /** When the workspace last accepted the token (a credential minted with it), ms since the epoch. */
  checkedAt: number;
  /** The token's own `exp` in ms, or undefined when it is not a JWT. */
  tokenExpiresAt: number | undefined;
}

/**
 * When a user token expires (its `exp` claim, in ms), or undefined when it is not a JWT or has none. Read without
 * verifying the signature: it is only ever used to refuse a token sooner, never to accept one (the workspace does).
 */
export function userTokenExpiresAt(userToken: string): number | undefined {
  const exp = jwtClaims(userToken).exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

/**
 * SHA-256 of a token -> the identity its credential was for, and that credential (reused when the user's pool is
 * opened again, so a token mints once per re-check). Bounded, least recently remembered first out; keyed by the
 * hash, never by the raw token. A token past its `exp` is refused; one accepted `recheckMs` ago or more must be
 * checked with the workspace again before it is trusted.
 */
export class KnownTokens {
  private readonly known = new Map<string, KnownToken>();

  constructor(
    private readonly maxUsers: number,
    private readonly clock: Clock,
    private readonly recheckMs: number,
  ) {}

  /** The key of a token in this cache. */
  static hash(userToken: string): string {
    return createHash('sha256').update(userToken).digest('hex');
  }

  get(hash: string): KnownToken | undefined {
    return this.known.get(hash);
  }

  /** Throws `LAKEBASE_AUTH_FAILED` (`user_token_expired`), forgetting it, if the token is past its `exp`. */
  refuseExpired(hash: string, userToken: string): void {
    const expiresAt = this.known.get(hash)?.tokenExpiresAt ?? userTokenExpiresAt(userToken);
    if (expiresAt === undefined || this.clock.now() < expiresAt) return;
    this.known.delete(hash);
    throw userTokenExpired();
  }

  /** The token, if the workspace accepted it less than `recheckMs` ago. */
  trusted(hash: string): KnownToken | undefined {
    const known = this.known.get(hash);
    return known && this.clock.now() - known.checkedAt < this.recheckMs ? known : undefined;
  }

  /** The token, if its credential may be reused without asking the workspace (trusted, credential still fresh). */
  reusable(hash: string): KnownToken | undefined {
    const known = this.trusted(hash);
    return known && fresh(known.credential) ? known : undefined;
  }

  /** Remembers that the workspace just accepted `userToken`, minting `credential` for `identity`. */
  accepted(hash: string, userToken: string, identity: string, credential: DatabaseCredential): KnownToken {
    const known = { identity, credential, checkedAt: this.clock.now(), tokenExpiresAt: userTokenExpiresAt(userToken) };
    this.remember(hash, known);
    return known;
  }

  forget(hash: string): void {
    this.known.delete(hash);
  }

  remember(hash: string, known: KnownToken): void {
    this.known.delete(hash);
    this.known.set(hash, known);
    const limit = Math.max(this.maxUsers * 4, KNOWN_TOKENS_MIN);
    while (this.known.size > limit) this.known.delete(this.known.keys().next().value as string);
  }
}
