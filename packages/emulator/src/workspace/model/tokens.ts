import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { writeFileAtomicSync } from '@lakebase-kit/client/toolkit';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { ResourceRef } from '../../contracts.js';
import { readJsonFile } from './persistence.js';

const ALG = 'ES256';
const KEYS_FILE = 'signing-keys.json';
/** Lifetime of OAuth access tokens, as on Databricks. */
export const OAUTH_TOKEN_TTL_SECONDS = 3600;

interface KeyPair {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

interface StoredKeys {
  oauth: JWK;
  database: JWK;
}

/** What a verified OAuth access token says. */
export interface AccessTokenClaims {
  sub: string;
  scopes: string[];
  jti: string | undefined;
  exp: number | undefined;
}

/**
 * What a credential request's `claims` ask for (permission set `READ_ONLY`): a read-only session, optionally limited
 * to named tables (`schema.table`).
 */
export interface TokenScope {
  readOnly: true;
  tables?: string[];
}

/** What a verified database token says. */
export interface DatabaseTokenClaims {
  sub: string;
  exp: number;
  resources: ResourceRef[];
  /** Present when the token was minted with claims: the session is read-only (and table-limited). */
  scope?: TokenScope;
}

/**
 * Signs and verifies the two kinds of token the workspace issues. They use separate keys (and a different `typ`), so
 * a database token is never a valid API bearer and an OAuth access token is never a valid database password.
 * Keys persist in the data dir so tokens survive a restart.
 */
export class TokenSigner {
  private constructor(
    private readonly oauthKey: KeyPair,
    private readonly databaseKey: KeyPair,
    private readonly audience: string,
  ) {}

  /** Loads the keys from `dataDir`, creating them on first use. */
  static async open(dataDir: string, audience: string): Promise<TokenSigner> {
    const file = path.join(dataDir, KEYS_FILE);
    let stored = readJsonFile<StoredKeys>(file);
    if (!stored) {
      stored = { oauth: await newJwk(), database: await newJwk() };
      writeFileAtomicSync(file, `${JSON.stringify(stored, null, 2)}\n`);
    }
    return new TokenSigner(await importPair(stored.oauth), await importPair(stored.database), audience);
  }

  /** An OAuth access token for `sub`, as `/oidc/v1/token` returns. */
  async signAccessToken(sub: string, scope: string, issuer: string, nowMs: number): Promise<string> {
    const iat = Math.floor(nowMs / 1000);
    return new SignJWT({ scope, client_id: sub })
      .setProtectedHeader({ alg: ALG, kid: this.oauthKey.kid, typ: 'at+jwt' })
      .setSubject(sub)
      .setIssuer(issuer)
      .setAudience(this.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + OAUTH_TOKEN_TTL_SECONDS)
      .setJti(randomUUID())
      .sign(this.oauthKey.privateKey);
  }

  /** The subject of a valid, unexpired access token, or undefined. */
  async verifyAccessToken(token: string, nowMs: number): Promise<string | undefined> {
    return (await this.verifyAccessTokenClaims(token, nowMs))?.sub;
  }

  /**
   * Subject, scopes (space-separated `scope` claim), id (`jti`) and expiry (`exp`, seconds) of a valid, unexpired
   * access token, or undefined.
   */
  async verifyAccessTokenClaims(token: string, nowMs: number): Promise<AccessTokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.oauthKey.publicKey, {
        algorithms: [ALG],
        audience: this.audience,
        typ: 'at+jwt',
        currentDate: new Date(nowMs),
      });
      if (typeof payload.sub !== 'string') return undefined;
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(/\s+/).filter(Boolean) : [];
      return { sub: payload.sub, scopes, jti: payload.jti, exp: payload.exp };
    } catch {
      return undefined;
    }
  }

  /**
   * A database token (the PostgreSQL password). `exp` is rounded up to a whole second so the token never lives
   * shorter than asked, and `expiresAt` is exactly `exp`, the instant login starts refusing it.
   */
  async signDatabaseToken(
    sub: string,
    resources: ResourceRef[],
    ttlSeconds: number,
    nowMs: number,
    scope?: TokenScope,
  ): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(nowMs / 1000);
    const exp = Math.ceil((nowMs + ttlSeconds * 1000) / 1000);
    const instanceNames = resources.filter((r) => r.kind === 'instance').map((r) => r.name);
    const endpoints = resources.filter((r) => r.kind === 'endpoint').map((r) => r.name);
    const claims: JWTPayload = {};
    if (instanceNames.length > 0) claims.instance_names = instanceNames;
    if (endpoints.length > 0) claims.endpoints = endpoints;
    if (scope) claims.permission_set = 'READ_ONLY';
    if (scope?.tables) claims.tables = scope.tables;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: this.databaseKey.kid, typ: 'JWT' })
      .setSubject(sub)
      .setAudience(this.audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.databaseKey.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** The claims of a valid, unexpired database token, or undefined. */
  async verifyDatabaseToken(token: string, nowMs: number): Promise<DatabaseTokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.databaseKey.publicKey, {
        algorithms: [ALG],
        audience: this.audience,
        typ: 'JWT',
        currentDate: new Date(nowMs),
      });
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return undefined;
      const resources: ResourceRef[] = [
        ...stringArray(payload.instance_names).map((name) => ({ kind: 'instance' as const, name })),
        ...stringArray(payload.endpoints).map((name) => ({ kind: 'endpoint' as const, name })),
      ];
      const claims: DatabaseTokenClaims = { sub: payload.sub, exp: payload.exp, resources };
      if (payload.permission_set === 'READ_ONLY') {
        claims.scope = Array.isArray(payload.tables)
          ? { readOnly: true, tables: stringArray(payload.tables) }
          : { readOnly: true };
      }
      return claims;
    } catch {
      return undefined;
    }
  }
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

async function newJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: ALG };
}

async function importPair(jwk: JWK): Promise<KeyPair> {
  const { d: _d, ...publicJwk } = jwk;
  return {
    kid: jwk.kid ?? 'default',
    privateKey: (await importJWK(jwk, ALG)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, ALG)) as CryptoKey,
  };
}
