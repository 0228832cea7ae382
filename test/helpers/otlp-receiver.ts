/**
 * An in-process OTLP/HTTP receiver on loopback, as a backend (an OpenTelemetry Collector, Grafana, Databricks) sees
 * what an app exports: it takes the JSON the OTLP HTTP exporters post to `/v1/traces` and `/v1/metrics` and keeps
 * it, flattened into spans and metrics with their scope and attributes decoded from OTLP's key/value form.
 */
import http from 'node:http';
import { closeHttpServer, listenOnLoopback } from './loopback-http.js';

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};
type OtlpAttributes = { key: string; value: OtlpValue }[];

/** An attribute set decoded from OTLP (`intValue` arrives as a string in OTLP/JSON). */
export type Decoded = Record<string, string | number | boolean>;

export interface ReceivedSpan {
  scope: string;
  name: string;
  kind: number;
  status: { code?: number };
  attributes: Decoded;
}

export interface ReceivedMetric {
  scope: string;
  name: string;
  unit: string;
  kind: 'histogram' | 'sum' | 'gauge';
  monotonic?: boolean;
  points: { attributes: Decoded; value?: number; count?: number; explicitBounds?: number[] }[];
}

function decode(attributes: OtlpAttributes | undefined): Decoded {
  const out: Decoded = {};
  for (const { key, value } of attributes ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
  }
  return out;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Every metric export received, in order (cumulative temporality: the last one holds the totals). */
  metrics: ReceivedMetric[][];
  /** Content types of the requests (the exporters' encoding). */
  contentTypes: Set<string>;
  close(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: OTLP/JSON is walked field by field below
type Json = any;

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[][] = [];
  const contentTypes = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      contentTypes.add(String(req.headers['content-type']));
      const body: Json = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      if (req.url === '/v1/traces') {
        for (const rs of body.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const span of ss.spans ?? [])
              spans.push({
                scope: ss.scope?.name,
                name: span.name,
                kind: span.kind,
                status: span.status ?? {},
                attributes: decode(span.attributes),
              });
      } else if (req.url === '/v1/metrics') {
        const batch: ReceivedMetric[] = [];
        for (const rm of body.resourceMetrics ?? [])
          for (const sm of rm.scopeMetrics ?? [])
            for (const metric of sm.metrics ?? []) {
              const kind = metric.histogram ? 'histogram' : metric.sum ? 'sum' : 'gauge';
              const data = metric.histogram ?? metric.sum ?? metric.gauge;
              batch.push({
                scope: sm.scope?.name,
                name: metric.name,
                unit: metric.unit ?? '',
                kind,
                monotonic: metric.sum?.isMonotonic,
                points: (data?.dataPoints ?? []).map((p: Json) => ({
                  attributes: decode(p.attributes),
                  value: p.asDouble ?? (p.asInt === undefined ? undefined : Number(p.asInt)),
                  count: p.count === undefined ? undefined : Number(p.count),
                  explicitBounds: p.explicitBounds,
                })),
              });
            }
        metrics.push(batch);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  const url = await listenOnLoopback(server);
  return { url, spans, metrics, contentTypes, close: () => closeHttpServer(server) };
}
