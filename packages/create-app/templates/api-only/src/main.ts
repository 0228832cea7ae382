import { buildApp } from './app.js';
import { openDatabase } from './database.js';

const port = Number(process.env.PORT ?? 8000);
if (!Number.isInteger(port) || port < 0 || port > 65535)
  throw new Error(`PORT must be 0..65535, got ${process.env.PORT}`);

const database = await openDatabase();
const app = buildApp(database.pool, { logger: true });
app.addHook('onClose', () => database.close());
await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });

// SIGTERM (what `npm start` forwards, and what platforms send) or Ctrl-C: finish requests, close the pool, exit.
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 15_000).unref();
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
