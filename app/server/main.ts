/**
 * Entry point (`npm start`): read settings, connect to Lakebase (or the embedded emulator locally), optionally
 * migrate, serve the API and the built UI, and shut down cleanly on SIGINT/SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { applyMigrations } from '@lakebase-kit/client';
import { settingValue } from '@lakebase-kit/client/toolkit';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { connectDatabase } from './lakebase.js';
import { createLogger } from './logging.js';
import { readServerSettings, serverEnvironment } from './settings.js';
import { startTelemetry } from './telemetry.js';
import { prettyLogStream, startLine, wantsPrettyLogs } from './terminal.js';

// Relative to this file (app/dist/server/main.js), so the server starts from any working directory.
const WEB_ROOT = fileURLToPath(new URL('../web', import.meta.url));
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
/** How long a shutdown may take (draining requests, closing the pool, flushing the emulator) before we exit anyway. */
const SHUTDOWN_LIMIT_MS = 15_000;

/**
 * Stops on the first SIGINT/SIGTERM, also while starting: runs what `closeWith` last set, logs, and exits 0 (1 if
 * closing failed or took over {@link SHUTDOWN_LIMIT_MS}). Repeats are ignored: Ctrl-C reaches both npm and us, and npm
 * forwards it, so we see it twice; dying mid-shutdown would cut requests and leave the emulator's files half-written.
 */
class StopSignals {
  private close: () => Promise<void> = async () => {};
  private stopping = false;

  constructor(private readonly logger: Logger) {
    process.on('SIGINT', () => this.stop('SIGINT'));
    process.on('SIGTERM', () => this.stop('SIGTERM'));
  }

  closeWith(close: () => Promise<void>): void {
    this.close = close;
  }

  private stop(signal: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info({ signal }, 'shutting down: finishing requests in flight');
    const force = setTimeout(() => {
      this.logger.error(`shutdown took over ${SHUTDOWN_LIMIT_MS / 1000} s; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    force.unref();
    this.close().then(
      () => {
        this.logger.info({ signal }, 'shut down cleanly: requests finished, database pool closed');
        process.exit(0);
      },
      (error: unknown) => {
        this.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  }
}

async function main(): Promise<void> {
  // Env files first, then every setting from the merged environment: a setting in .env.local (LAKEBASE_CONNECT_AS,
  // PORT, LOG_LEVEL, ...) counts like one in the shell, which still wins.
  const env = await serverEnvironment(process.env);
  const settings = readServerSettings(env);
  const pretty = wantsPrettyLogs({ isTTY: process.stdout.isTTY, production: settings.production });
  const stream = pretty ? await prettyLogStream() : undefined;
  const logger = createLogger({ level: settings.logLevel, ...(stream ? { stream } : {}) });
  const signals = new StopSignals(logger);

  // The OpenTelemetry SDK reads its own OTEL_* variables (headers, sampler) from process.env: hand it those of the env
  // files too, under the ones already set, so .env.local works for them as for every other setting.
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('OTEL_') && settingValue(process.env[name]) === undefined) process.env[name] = value;
  }
  // Before the pool exists: its instruments come from the meter provider registered when it is created.
  const telemetry = await startTelemetry(settings.telemetry);
  if (telemetry) logger.info({ endpoint: settings.telemetry.otlpEndpoint }, 'exporting OpenTelemetry over OTLP');
  const connection = await connectDatabase(settings, env, {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
  });
  signals.closeWith(async () => {
    await connection.close();
    await telemetry?.shutdown();
  });
  if (connection.emulator) {
    logger.info(connection.emulator, 'no Lakebase configured: started the embedded Lakebase emulator');
  } else if (!connection.database.configured) {
    logger.warn('no Lakebase configured: preferences answer 503 LAKEBASE_NOT_CONFIGURED');
  }

  try {
    // The emulator starts empty, so a local start always migrates; deployed apps opt in with MIGRATE_ON_START.
    if (connection.pool && (settings.migrateOnStart || connection.emulator)) {
      const ran = await applyMigrations(connection.pool, { dir: MIGRATIONS_DIR, logger });
      logger.info({ migrations: ran.map((m) => m.name) }, ran.length ? 'applied migrations' : 'migrations up to date');
    }

    const app = await buildApp({
      database: connection.database,
      production: settings.production,
      databricksApps: settings.databricksApps,
      devUser: settings.devUser,
      webRoot: WEB_ROOT,
      logger,
    });
    app.addHook('onClose', async () => {
      await connection.close();
      await telemetry?.shutdown();
    });
    // Fastify's close stops accepting connections, waits for the requests in flight, then runs onClose (the pool).
    signals.closeWith(() => app.close());
    const address = await app.listen({ port: settings.port, host: settings.host });

    const port = new URL(address).port;
    const url = settings.host === '0.0.0.0' ? address : `http://localhost:${port}`;
    logger.info({ url, production: settings.production }, 'lakebase app listening');
    if (pretty) process.stdout.write(`\n  ${startLine(url, connection.database)}\n\n`);
  } catch (error) {
    await connection.close().catch(() => {});
    throw error;
  }
}

main().catch((error: unknown) => {
  const { code, message, suggestion } = error as { code?: string; message?: string; suggestion?: string };
  process.stderr.write(`lakebase app failed to start: ${code ? `${code}: ` : ''}${message ?? String(error)}\n`);
  if (suggestion) process.stderr.write(`  ${suggestion}\n`);
  process.exit(1);
});
