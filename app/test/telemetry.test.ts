/** OTLP export: with OTEL_EXPORTER_OTLP_ENDPOINT set, the client's metrics and spans reach a (fake) collector. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLakebasePool } from '@lakebase-kit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerSettings } from '../server/settings.js';
import { startTelemetry } from '../server/telemetry.js';

const received: { path: string; body: string }[] = [];
let collector: Server;
let endpoint: string;

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => collector.close(resolve));
});

describe('OTLP export', () => {
  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT, and the interval has a range', async () => {
    expect(await startTelemetry(readServerSettings({}).telemetry)).toBeUndefined();
    expect(() => readServerSettings({ OTEL_METRIC_EXPORT_INTERVAL: '5' })).toThrow(/OTEL_METRIC_EXPORT_INTERVAL/);
  });

  it('exports the pool metrics and statement spans over OTLP/HTTP', async () => {
    const settings = readServerSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: `${endpoint}/`,
      OTEL_SERVICE_NAME: 'otlp-test',
    });
    const telemetry = await startTelemetry(settings.telemetry);
    expect(telemetry).toBeDefined();
    const pool = createLakebasePool({
      url: 'postgresql://postgres@127.0.0.1:5432/test',
      env: {},
      logger: { warn() {} },
    });
    await pool.query('select $1::int as n', [7]);
    await pool.end();
    await telemetry?.shutdown();
    const traces = received
      .filter((r) => r.path === '/v1/traces')
      .map((r) => r.body)
      .join('\n');
    const metrics = received
      .filter((r) => r.path === '/v1/metrics')
      .map((r) => r.body)
      .join('\n');
    expect(traces).toContain('db.system.name');
    expect(traces).toContain('otlp-test');
    expect(metrics).toContain('lakebase.query.duration');
    expect(metrics).toContain('lakebase.pool.connections.total');
  });

  it('leaves sampling to OTEL_TRACES_SAMPLER: traced out, statements still count in the metrics', async () => {
    received.length = 0;
    const saved = process.env.OTEL_TRACES_SAMPLER;
    process.env.OTEL_TRACES_SAMPLER = 'always_off'; // read by the SDK's tracer provider, as deployments set it
    try {
      const telemetry = await startTelemetry(
        readServerSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'sampled-test' }).telemetry,
      );
      const pool = createLakebasePool({
        url: 'postgresql://postgres@127.0.0.1:5432/test',
        env: {},
        logger: { warn() {} },
      });
      for (let i = 0; i < 3; i++) await pool.query('select 1');
      await pool.end();
      await telemetry?.shutdown();
    } finally {
      if (saved === undefined) delete process.env.OTEL_TRACES_SAMPLER;
      else process.env.OTEL_TRACES_SAMPLER = saved;
    }
    const bodies = (path: string) =>
      received
        .filter((r) => r.path === path)
        .map((r) => r.body)
        .join('\n');
    expect(bodies('/v1/traces')).not.toContain('db.system.name');
    const metrics = bodies('/v1/metrics');
    expect(metrics).toContain('sampled-test');
    expect(metrics).toContain('lakebase.query.duration');
  });
});
