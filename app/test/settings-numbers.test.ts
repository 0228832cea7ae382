import { isLakebaseError } from '@lakebase-kit/client';
import { describe, expect, it } from 'vitest';
import { NOT_DECIMAL_INTEGERS } from '../../packages/client/test/helpers/numbers.js';
import { readServerSettings } from '../server/settings.js';

/** The app's numeric settings read like the client's (one parser): decimal integers in a documented range. */
const NUMERIC: Record<string, { read: (env: Record<string, string>) => number; valid: number; range: string }> = {
  PORT: { read: (env) => readServerSettings(env).port, valid: 3000, range: 'from 0 to 65535' },
  DATABRICKS_APP_PORT: { read: (env) => readServerSettings(env).port, valid: 8080, range: 'from 0 to 65535' },
  OTEL_METRIC_EXPORT_INTERVAL: {
    read: (env) => readServerSettings(env).telemetry.metricIntervalMs,
    valid: 5000,
    range: 'from 1000 to 300000',
  },
};

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('app settings: numbers', () => {
  for (const [name, { read, valid, range }] of Object.entries(NUMERIC)) {
    it(`${name}: other bases, exponents, signs, fractions, non-ASCII digits and huge values are refused`, () => {
      for (const value of NOT_DECIMAL_INTEGERS) {
        const error = thrown(() => read({ [name]: value }));
        expect(isLakebaseError(error, 'LAKEBASE_CONFIG_INVALID'), `${name}=${value}: ${error.message}`).toBe(true);
        expect(error.message).toContain(name);
        expect(error.message).toContain(range);
      }
    });

    it(`${name}: spaces around are ignored; empty or blank is unset`, () => {
      expect(read({ [name]: ` ${valid} ` })).toBe(valid);
      expect(read({ [name]: '' })).toBe(read({}));
      expect(read({ [name]: '  ' })).toBe(read({}));
    });
  }

  it('an empty DATABRICKS_APP_PORT is unset: the default port on loopback, not a random port beyond it', () => {
    expect(readServerSettings({ DATABRICKS_APP_PORT: '' })).toMatchObject({
      port: 8000,
      host: '127.0.0.1',
      databricksApps: false,
    });
    // ...and PORT still applies under it.
    expect(readServerSettings({ DATABRICKS_APP_PORT: '', PORT: '3000' }).port).toBe(3000);
  });

  it('the metric interval has a least value: no busy export loop', () => {
    expect(thrown(() => readServerSettings({ OTEL_METRIC_EXPORT_INTERVAL: '0' })).message).toContain(
      'OTEL_METRIC_EXPORT_INTERVAL',
    );
  });
});
