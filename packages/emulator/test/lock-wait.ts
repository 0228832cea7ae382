import type pg from 'pg';

/**
 * Resolves once a backend waits on a heavyweight lock: the one with process id `pid`, or any but `observer`'s own.
 * Polled every 10 ms, at most 500 times; then it throws, naming what never happened.
 */
export async function waitForLockWait(observer: pg.Client | pg.Pool, pid?: number): Promise<void> {
  const sql =
    pid === undefined
      ? "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
      : "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid = $1";
  for (let i = 0; i < 500; i++) {
    const { rows } = await observer.query<{ n: number }>(sql, pid === undefined ? [] : [pid]);
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(pid === undefined ? 'no backend ever waited on a lock' : `backend ${pid} never waited on a lock`);
}
