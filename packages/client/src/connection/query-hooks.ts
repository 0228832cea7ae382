/**
 * One place that wraps `client.query` of a pool's connections, so the read pool (25006 → coded error), the pooled
 * host (refusals) and telemetry (spans, durations) see every statement: `pool.query` runs on a checked-out client
 * too. Submittables (cursors, streams) pass through untouched. Nothing is wrapped on a pool with no hook.
 */
import type pg from 'pg';

/** What a hook sees of a statement: its text (undefined for a submittable) and whether it is a named prepared one. */
export interface StatementInfo {
  text: string | undefined;
  prepared: boolean;
}

type Done = (error: unknown, result?: pg.QueryResult) => void;

/**
 * Runs around one statement: call `run(done)` to execute it (or `done(error)` to refuse it). Callback-shaped so the
 * callback form of `query` (pool.query's own) costs no promise.
 */
export type QueryHook = (statement: StatementInfo, run: (done: Done) => void, done: Done) => void;

/** Wraps `client.query` with `hook` (applied on top of hooks installed before). */
export function hookClientQueries(client: pg.ClientBase, hook: QueryHook): void {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query has many overloads; this forwards them unchanged.
  const original = client.query as (...args: any[]) => any;
  // biome-ignore lint/suspicious/noExplicitAny: forwarded as given
  const wrapped = function (this: pg.ClientBase, ...args: any[]): any {
    const first = args[0] as { submit?: unknown; text?: unknown; name?: unknown } | string | undefined;
    if (first !== null && typeof first === 'object' && typeof first.submit === 'function') {
      return original.apply(this, args);
    }
    const callback = typeof args.at(-1) === 'function' ? (args.pop() as Done) : undefined;
    const statement: StatementInfo =
      typeof first === 'string'
        ? { text: first, prepared: false }
        : {
            text: typeof first?.text === 'string' ? first.text : undefined,
            prepared: typeof first?.name === 'string' && first.name !== '',
          };
    const run = (done: Done) => original.call(this, ...args, done);
    if (callback) {
      hook(statement, run, callback);
      return undefined;
    }
    return new Promise((resolve, reject) =>
      hook(statement, run, (error, result) => (error ? reject(error) : resolve(result))),
    );
  };
  (client as { query: unknown }).query = wrapped;
}

/** Installs `hook` on every connection `pool` opens from now on. */
export function hookPoolQueries(pool: pg.Pool, hook: QueryHook): void {
  pool.on('connect', (client: pg.PoolClient) => hookClientQueries(client, hook));
}

/** The statement's first keyword in upper case (`SELECT`, `INSERT`, `WITH`...), or undefined. Cheap: no regex. */
export function operationOf(text: string | undefined): string | undefined {
  if (!text) return undefined;
  let start = 0;
  while (start < text.length && text.charCodeAt(start) <= 32) start++;
  let end = start;
  while (end < text.length && end - start < 16) {
    const c = text.charCodeAt(end) | 32;
    if (c < 97 || c > 122) break;
    end++;
  }
  return end > start ? text.slice(start, end).toUpperCase() : undefined;
}
