/**
 * The convention names the client copies (src/connection/semconv.ts) against the pinned
 * @opentelemetry/semantic-conventions' own constants; the statement reading behind span names, db.collection.name and
 * the sanitised db.query.text; and OTEL_SEMCONV_STABILITY_OPT_IN.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as stable from '@opentelemetry/semantic-conventions';
import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { describe, expect, it } from 'vitest';
import { semconvNamesFromEnv } from '../src/config/semconv-stability.js';
import {
  ATTR,
  ATTR_INCUBATING,
  CONNECTION_STATE,
  DB_SYSTEM_NAME_POSTGRESQL,
  METRIC_DB_CLIENT_OPERATION_DURATION,
  METRIC_POOL,
  SEMCONV_VERSION,
} from '../src/connection/semconv.js';
import { collectionOf, sanitizeStatement, shapeOf } from '../src/connection/statement-text.js';

const require = createRequire(import.meta.url);

describe('the copied convention names', () => {
  it('are those of the pinned @opentelemetry/semantic-conventions', () => {
    const root = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    expect(root.devDependencies['@opentelemetry/semantic-conventions']).toBe(SEMCONV_VERSION);
    const main = require.resolve('@opentelemetry/semantic-conventions'); // <package>/dist/index.cjs
    const installed = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8'));
    expect(installed.version).toBe(SEMCONV_VERSION);
    expect(ATTR).toEqual({
      dbSystemName: stable.ATTR_DB_SYSTEM_NAME,
      dbNamespace: stable.ATTR_DB_NAMESPACE,
      dbOperationName: stable.ATTR_DB_OPERATION_NAME,
      dbCollectionName: stable.ATTR_DB_COLLECTION_NAME,
      dbQueryText: stable.ATTR_DB_QUERY_TEXT,
      dbResponseStatusCode: stable.ATTR_DB_RESPONSE_STATUS_CODE,
      errorType: stable.ATTR_ERROR_TYPE,
      serverAddress: stable.ATTR_SERVER_ADDRESS,
      serverPort: stable.ATTR_SERVER_PORT,
    });
    expect(ATTR_INCUBATING).toEqual({
      dbResponseReturnedRows: incubating.ATTR_DB_RESPONSE_RETURNED_ROWS,
      dbClientConnectionPoolName: incubating.ATTR_DB_CLIENT_CONNECTION_POOL_NAME,
      dbClientConnectionState: incubating.ATTR_DB_CLIENT_CONNECTION_STATE,
    });
    expect(DB_SYSTEM_NAME_POSTGRESQL).toBe(stable.DB_SYSTEM_NAME_VALUE_POSTGRESQL);
    expect(CONNECTION_STATE).toEqual({
      idle: incubating.DB_CLIENT_CONNECTION_STATE_VALUE_IDLE,
      used: incubating.DB_CLIENT_CONNECTION_STATE_VALUE_USED,
    });
    expect(METRIC_DB_CLIENT_OPERATION_DURATION).toBe(stable.METRIC_DB_CLIENT_OPERATION_DURATION);
    expect(METRIC_POOL).toEqual({
      count: incubating.METRIC_DB_CLIENT_CONNECTION_COUNT,
      idleMax: incubating.METRIC_DB_CLIENT_CONNECTION_IDLE_MAX,
      idleMin: incubating.METRIC_DB_CLIENT_CONNECTION_IDLE_MIN,
      limit: incubating.METRIC_DB_CLIENT_CONNECTION_LIMIT,
      pendingRequests: incubating.METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
      timeouts: incubating.METRIC_DB_CLIENT_CONNECTION_TIMEOUTS,
      createTime: incubating.METRIC_DB_CLIENT_CONNECTION_CREATE_TIME,
      waitTime: incubating.METRIC_DB_CLIENT_CONNECTION_WAIT_TIME,
      useTime: incubating.METRIC_DB_CLIENT_CONNECTION_USE_TIME,
    });
  });
});

describe('reading a statement', () => {
  it('names the one table of INSERT, UPDATE, DELETE and single-table SELECT, as written', () => {
    expect(shapeOf('insert into orders (id) values ($1)')).toEqual({ operation: 'INSERT', collection: 'orders' });
    expect(shapeOf('UPDATE app.orders SET n = n + 1 WHERE id = $1')).toEqual({
      operation: 'UPDATE',
      collection: 'app.orders',
    });
    expect(shapeOf('delete from only "Order Items" where id = 3').collection).toBe('"Order Items"');
    expect(shapeOf('select * from orders where id = $1').collection).toBe('orders');
    expect(shapeOf('select id from public.orders').collection).toBe('public.orders');
    expect(shapeOf(undefined)).toEqual({ operation: undefined, collection: undefined });
  });

  it('names no table when the statement has several or hides them', () => {
    for (const text of [
      'select * from a join b on a.id = b.id',
      'select * from a, b where a.id = b.id',
      'select * from (select 1) s',
      'select extract(year from now()) from t',
      'select * from t where id in (select id from u)',
      'with x as (select 1) select * from x',
      'select 1',
      "select 'from t' as x",
    ]) {
      expect(collectionOf(text, shapeOf(text).operation), text).toBeUndefined();
    }
  });

  it('sanitises literals and comments out of the text, and keeps placeholders', () => {
    expect(sanitizeStatement("select * from t where name = 'O''Brien' and n = 42 and id = $1")).toBe(
      'select * from t where name = ? and n = ? and id = $1',
    );
    expect(sanitizeStatement("select E'\\x41', $$secret$$, $tag$also secret$tag$, -1.5e3, t1.c2 from t1")).toBe(
      'select ?, ?, ?, ?, t1.c2 from t1',
    );
    expect(sanitizeStatement("select 1 -- password 'x'\n/* token abc */ from t")).toBe('select ? from t');
    expect(sanitizeStatement("select 'unterminated secret")).toBe('select ?');
  });
});

describe('OTEL_SEMCONV_STABILITY_OPT_IN', () => {
  it('database: the conventions only; database/dup or unset: both', () => {
    expect(semconvNamesFromEnv({ OTEL_SEMCONV_STABILITY_OPT_IN: 'http, database' })).toEqual({
      conventions: true,
      legacy: false,
    });
    expect(semconvNamesFromEnv({ OTEL_SEMCONV_STABILITY_OPT_IN: 'database/dup,database' })).toEqual({
      conventions: true,
      legacy: true,
    });
    expect(semconvNamesFromEnv({})).toEqual({ conventions: true, legacy: true });
  });
});
