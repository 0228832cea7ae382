/**
 * `stop()` always ends. A query the emulator runs on its storage can wait on a lock that someone else holds (on an
 * upstream server, anyone with a session there); stopping must not wait for that lock to be released.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { frontDoorConfig } from './clients.js';
import { waitForLockWait } from './lock-wait.js';

const SERVER = 'postgresql://postgres@127.0.0.1:5432';
const scratch = `lakebase_stop_bounded_${process.pid}`;
const LATE = 'late-stop@example.com';

async function admin<T>(run: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const client = new pg.Client({ connectionString: `${SERVER}/${database}` });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

let emulator: Emulator | undefined;

beforeAll(async () => {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`));
  await admin((c) => c.query(`CREATE DATABASE ${scratch}`));
});
afterAll(async () => {
  await emulator?.stop();
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`));
  await admin((c) => c.query(`DROP ROLE IF EXISTS "${LATE}"`));
});

it('ends while a storage query waits on a lock held outside the emulator', { timeout: 25_000 }, async () => {
  const started = await startEmulator({ apiPort: 0, pgPort: 0, upstream: `${SERVER}/${scratch}` });
  emulator = started;
  started.workspace.addUser(LATE);
  const { token } = await started.workspace.mintDatabaseToken(LATE, [{ kind: 'instance', name: started.instanceName }]);

  // Someone else's transaction holds the role catalog: the first login of LATE, which makes its role, waits on it.
  const holder = new pg.Client({ connectionString: `${SERVER}/${scratch}` });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE pg_authid IN ACCESS EXCLUSIVE MODE');
    const login = new pg.Client(frontDoorConfig(started, { user: LATE, password: token }));
    const loggingIn = login.connect().then(
      () => 'connected',
      () => 'refused',
    );
    await waitForLockWait(holder); // one of the emulator's own storage queries is blocked on the lock
    // The lock is still held: stop() must end anyway (before the fix it waited for the lock, i.e. forever here).
    await started.stop();
    emulator = undefined;
    expect(await loggingIn).toBe('refused');
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    await holder.end();
  }
});
