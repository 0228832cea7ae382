/**
 * The conventions' connection-pool metrics (`db.client.connection.*`, names per the pinned release in semconv.ts),
 * told apart by `db.client.connection.pool.name`. Counts are observed (read from pg-pool when the SDK collects, no
 * cost per statement), summed over the pools sharing a name (per-user pools share `per-user`); the three timings are
 * recorded per connection made (timeConnectionsMade), per checkout and per release. Where `@opentelemetry/instrumentation-pg` already
 * patches pg-pool, it records `db.client.connection.count` and `...pending_requests` itself, so those two are left to
 * it: nothing is counted twice.
 */
import type pg from 'pg';
import { ATTR_INCUBATING, CONNECTION_STATE, METRIC_POOL, OPERATION_DURATION_BUCKETS } from './semconv.js';
import type { Attributes, Instrument, Meter } from './telemetry-api.js';

/** True when `@opentelemetry/instrumentation-pg` (shimmer) wrapped `key` somewhere on `object`'s prototype chain. */
export function wrappedByInstrumentation(object: object, key: string): boolean {
  for (let proto = Object.getPrototypeOf(object); proto; proto = Object.getPrototypeOf(proto)) {
    const value: unknown = Object.getOwnPropertyDescriptor(proto, key)?.value;
    if (typeof value === 'function' && (value as { __wrapped?: unknown }).__wrapped === true) return true;
  }
  return false;
}

interface Member {
  pool: pg.Pool;
  attributes: () => Attributes;
}

/** One set of observable instruments per meter, over every pool registered with it. */
const registries = new WeakMap<Meter, Set<Member>>();

function registryOf(meter: Meter): Set<Member> {
  let members = registries.get(meter);
  if (members) return members;
  const live = new Set<Member>();
  members = live;
  registries.set(meter, live);
  const upDown = (name: string, description: string, unit: string) =>
    meter.createObservableUpDownCounter(name, { description, unit });
  const groups = () => {
    const byName = new Map<string, { attributes: Attributes; pools: pg.Pool[] }>();
    for (const member of live) {
      if ((member.pool as { ended?: boolean }).ended) {
        live.delete(member);
        continue;
      }
      const attributes = member.attributes();
      const name = String(attributes[ATTR_INCUBATING.dbClientConnectionPoolName]);
      const group = byName.get(name);
      if (group) group.pools.push(member.pool);
      else byName.set(name, { attributes, pools: [member.pool] });
    }
    return [...byName.values()];
  };
  const sum = (pools: pg.Pool[], read: (pool: pg.Pool) => number) => pools.reduce((n, pool) => n + read(pool), 0);
  const optionsOf = (pool: pg.Pool) => (pool as unknown as { options: { max?: number; min?: number } }).options;
  upDown(METRIC_POOL.count, 'Connections in the state given by db.client.connection.state', '{connection}').addCallback(
    (r) => {
      for (const { attributes, pools } of groups()) {
        if (wrappedByInstrumentation(pools[0] as object, 'connect')) continue; // instrumentation-pg counts these
        const idle = sum(pools, (p) => p.idleCount);
        r.observe(idle, { ...attributes, [ATTR_INCUBATING.dbClientConnectionState]: CONNECTION_STATE.idle });
        r.observe(sum(pools, (p) => p.totalCount) - idle, {
          ...attributes,
          [ATTR_INCUBATING.dbClientConnectionState]: CONNECTION_STATE.used,
        });
      }
    },
  );
  upDown(METRIC_POOL.pendingRequests, 'Requests waiting for a connection', '{request}').addCallback((r) => {
    for (const { attributes, pools } of groups()) {
      if (wrappedByInstrumentation(pools[0] as object, 'connect')) continue;
      r.observe(
        sum(pools, (p) => p.waitingCount),
        attributes,
      );
    }
  });
  const limits = [
    [METRIC_POOL.limit, 'The most open connections allowed', (p: pg.Pool) => optionsOf(p).max ?? 10],
    [METRIC_POOL.idleMax, 'The most idle open connections allowed', (p: pg.Pool) => optionsOf(p).max ?? 10],
    [METRIC_POOL.idleMin, 'The fewest idle open connections kept', (p: pg.Pool) => optionsOf(p).min ?? 0],
  ] as const;
  for (const [name, description, read] of limits) {
    upDown(name, description, '{connection}').addCallback((r) => {
      for (const { attributes, pools } of groups()) r.observe(sum(pools, read), attributes);
    });
  }
  return live;
}

const BORROWED = Symbol('lakebase.borrowedAt');

/** pg-pool's words for a checkout that timed out: waiting for a free connection, or making a new one. */
const TIMEOUT_MESSAGES = ['timeout exceeded when trying to connect', 'Connection terminated due to connection timeout'];

/** What a pool's conventions metrics record per connection made, checkout and release. */
export interface PoolTimings {
  /** Records a checkout's wait, or counts it as a timeout. */
  checkedOut(seconds: number, error: Error | undefined): void;
  /** Records a new connection's create time. */
  connectionMade(seconds: number): void;
}

/**
 * Calls `made(seconds)` for each connection `pool` makes. Installed with the pool (before the API has loaded), so
 * its first connection is timed too.
 */
export function timeConnectionsMade(pool: pg.Pool, made: (seconds: number) => void): void {
  type Connect = (callback?: (error: Error | undefined) => void) => Promise<unknown> | undefined;
  const timedPool = pool as unknown as { Client: new (...args: unknown[]) => { connect: Connect } };
  const Base = timedPool.Client;
  // pg-pool makes each connection with `new this.Client(options)` and `client.connect(callback)`.
  timedPool.Client = class TimedClient extends Base {
    constructor(...args: unknown[]) {
      super(...args);
      const connect = this.connect.bind(this);
      this.connect = (callback) => {
        const started = performance.now();
        const done = () => made((performance.now() - started) / 1000);
        if (!callback) {
          return connect()?.then((result) => {
            done();
            return result;
          });
        }
        return connect((error) => {
          if (!error) done();
          callback(error);
        });
      };
    }
  };
}

/**
 * Registers `pool` for the observed pool metrics and records create, wait and use times (seconds) and checkout
 * timeouts under `attributes()` (the pool's name).
 */
export function attachConventionPoolMetrics(meter: Meter, pool: pg.Pool, attributes: () => Attributes): PoolTimings {
  registryOf(meter).add({ pool, attributes });
  const histogram = (name: string, description: string): Instrument =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS },
    });
  const createTime = histogram(METRIC_POOL.createTime, 'The time it took to create a new connection');
  const waitTime = histogram(METRIC_POOL.waitTime, 'The time it took to obtain an open connection from the pool');
  const useTime = histogram(METRIC_POOL.useTime, 'The time between borrowing a connection and returning it');
  const timeouts = meter.createCounter(METRIC_POOL.timeouts, {
    description: 'Timeouts trying to obtain a connection from the pool',
    unit: '{timeout}',
  });

  // When each checked-out connection was borrowed, on the client itself (a property read is cheaper than a map).
  type Borrowed = { [BORROWED]?: number };
  pool.on('acquire', (client) => {
    (client as Borrowed)[BORROWED] = performance.now();
  });
  pool.on('release', (_error, client) => {
    const since = (client as Borrowed)[BORROWED];
    if (since !== undefined) useTime.record?.((performance.now() - since) / 1000, attributes());
  });
  return {
    checkedOut: (seconds, error) => {
      if (!error) waitTime.record?.(seconds, attributes());
      else if (TIMEOUT_MESSAGES.some((m) => error.message?.startsWith(m))) timeouts.add?.(1, attributes());
    },
    connectionMade: (seconds) => createTime.record?.(seconds, attributes()),
  };
}
