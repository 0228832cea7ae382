// The pools the benchmarks compare, built the same way everywhere: ours (`@lakebase-kit/client`), plain `pg.Pool`
// with a static password, and `@databricks/lakebase` (Autoscaling mode) pointed at the emulator.

import { createLakebasePool as createDatabricksPool } from '@databricks/lakebase';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { createLakebasePool } from '@lakebase-kit/client';
import pg from 'pg';

/** A logger that counts warnings instead of printing them (printing would cost the side that logs more). */
export function countingLogger() {
  const logger = { warnings: 0, warn: () => logger.warnings++ };
  return logger;
}

/** Ours in static-URL mode against a plain PostgreSQL (no TLS when the URL has no sslmode, as there). */
export function oursStatic(url, max) {
  return createLakebasePool({ url, poolSize: max, maxOverflow: 0, env: {}, logger: countingLogger() });
}

/**
 * Ours in Autoscaling mode against the emulator: PAT workspace auth, tokens minted by the emulator and cached,
 * TLS verified against the emulator's CA.
 */
export function oursEmulator(emulator, max, extra = {}) {
  return createLakebasePool({
    env: {},
    endpoint: emulator.endpoint,
    databricksHost: emulator.databricksHost,
    token: emulator.databricksToken,
    host: emulator.pgHost,
    port: emulator.pgPort,
    database: emulator.database,
    sslMode: 'verify-full',
    sslRootCert: emulator.caFile,
    poolSize: max,
    maxOverflow: 0,
    logger: countingLogger(),
    ...extra,
  });
}

/** Plain pg.Pool through the emulator's TLS front door with one static token (minted once, valid 1 h). */
export function plainEmulator(emulator, token, max, extra = {}) {
  return new pg.Pool({
    host: emulator.pgHost,
    port: emulator.pgPort,
    user: emulator.user,
    database: emulator.database,
    password: token,
    ssl: { ca: emulator.ca },
    max,
    ...extra,
  });
}

/**
 * `@databricks/lakebase` 0.6 in Autoscaling mode against the emulator. Its workspace client is the official SDK's
 * `WorkspaceClient` (PAT auth); the SDK keeps an `http://host:port` host as given, so it reaches the emulator's API
 * directly. TLS: its `ssl` option with the emulator's CA (its `require` verifies against system CAs only).
 * `maxLifetimeSeconds` is not among its options; when a workload needs it, it is set on the returned pg.Pool's
 * options, which pg-pool reads for every new connection.
 */
export function databricksEmulator(emulator, max, { maxLifetimeSeconds } = {}) {
  const pool = createDatabricksPool({
    workspaceClient: new WorkspaceClient({ host: emulator.databricksHost, token: emulator.databricksToken }),
    endpoint: emulator.endpoint,
    host: emulator.pgHost,
    port: emulator.pgPort,
    database: emulator.database,
    user: emulator.user,
    ssl: { ca: emulator.ca },
    max,
    logger: { debug: false, info: false, warn: false, error: false },
  });
  if (maxLifetimeSeconds) pool.options.maxLifetimeSeconds = maxLifetimeSeconds;
  pool.on('error', () => {}); // as ours does by default: an idle client's error must not crash the benchmark
  return pool;
}
