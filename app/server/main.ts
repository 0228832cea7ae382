/**
 * Entry point (`npm start`): read settings, connect to Lakebase (or the embedded emulator locally), optionally
 * migrate, serve the API and the built UI, and shut down cleanly on SIGINT/SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { applyMigrations } from '@lakebase-kit/client';
import { buildApp, createLogger } from './app.js';
import { connectDatabase } from './lakebase.js';
import { readServerSettings } from './settings.js';

// Relative to this file (app/dist/server/main.js), so the server starts from any working directory.
const WEB_ROOT = fileURLToPath(new URL('../web', import.meta.url));
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

async function main(): Promise<void> {
  const settings = readServerSettings(process.env);
  const logger = createLogger({ level: settings.logLevel });

  const connection = await connectDatabase(settings, process.env, {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
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
      devUser: settings.devUser,
      webRoot: WEB_ROOT,
      logger,
    });
    app.addHook('onClose', () => connection.close());
    const address = await app.listen({ port: settings.port, host: settings.host });

    const port = new URL(address).port;
    const url = settings.host === '0.0.0.0' ? address : `http://localhost:${port}`;
    logger.info({ url, production: settings.production }, 'lakebase app listening');
    if (process.stdout.isTTY) process.stdout.write(`\n  Lakebase app ready at ${url}\n\n`);

    // npm forwards Ctrl-C/SIGTERM to this process, which then sees the signal twice: ignore repeats, because dying
    // mid-shutdown would leave the emulator's PGlite files half-written.
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      logger.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        logger.error('shutdown took over 15 s; exiting anyway');
        process.exit(1);
      }, 15_000);
      force.unref();
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
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
