import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Emulator } from '../src/index.js';

/** pg clients of a running emulator's front door, for the tests that log in over real sockets. */

const cas = new WeakMap<Emulator, string>();

/** The emulator's CA certificate (PEM), read once per emulator. */
export function emulatorCa(emulator: Emulator): string {
  let ca = cas.get(emulator);
  if (ca === undefined) {
    ca = readFileSync(emulator.caFile, 'utf8');
    cas.set(emulator, ca);
  }
  return ca;
}

export interface FrontDoorLogin {
  password: string;
  /** Default: the emulator's own user. */
  user?: string;
  /**
   * A host of its own (a branch, read-only or instance host): the client connects to loopback and names it in SNI and
   * the certificate check, as DNS would route it (libpq: hostaddr + host). Default: the emulator's PG host.
   */
  host?: string;
}

/** Settings for a client of `emulator` that verifies its certificate; `overrides` go on top. */
export function frontDoorConfig(
  emulator: Emulator,
  login: FrontDoorLogin,
  overrides: Partial<pg.ClientConfig> = {},
): pg.ClientConfig {
  const ssl = { ca: emulatorCa(emulator), rejectUnauthorized: true, ...(login.host ? { servername: login.host } : {}) };
  return {
    host: login.host ? '127.0.0.1' : emulator.pgHost,
    port: emulator.pgPort,
    user: login.user ?? emulator.user,
    database: emulator.database,
    password: login.password,
    ssl,
    ...overrides,
  };
}

/**
 * A connected client. Errors after the login are ignored: a failed test may leave it open until the emulator stops
 * and ends the session.
 */
export async function connectFrontDoor(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  await client.connect();
  return client;
}

// biome-ignore lint/suspicious/noExplicitAny: REST responses of many shapes, read field by field
type Json = Record<string, any>;

/** Calls the emulator's Autoscaling REST API (`/api/2.0/postgres/<path>`) as the workspace user; the parsed body. */
export async function postgresApi(emulator: Emulator, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${emulator.databricksHost}/api/2.0/postgres/${path}`, {
    method,
    headers: { Authorization: `Bearer ${emulator.databricksToken}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as Json;
}

/** Polls an Operation until done (bounded: 400 polls 25 ms apart); the last state seen. */
export async function finishOperation(emulator: Emulator, operation: Json): Promise<Json> {
  let op = operation;
  for (let i = 0; i < 400 && !op.done; i++) {
    await new Promise((r) => setTimeout(r, 25));
    op = await postgresApi(emulator, 'GET', op.name);
  }
  return op;
}
