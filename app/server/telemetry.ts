/**
 * OpenTelemetry export over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: the client's pools then emit their
 * metrics (`lakebase.*`) and a span per statement, and this exports them. The SDK is loaded only then, so an app
 * without a collector pays nothing. It must start before the pool is created (the metrics API has no late binding).
 * Headers (`OTEL_EXPORTER_OTLP_HEADERS`) and the like are read by the exporters themselves, as the spec says.
 * Not set up here: HTTP server spans and context propagation (add @opentelemetry/sdk-node with its instrumentations
 * for those); the database spans are then children of the request spans.
 */

/** What to export to. */
export interface TelemetrySettings {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://collector:4318`; undefined: no export. */
  otlpEndpoint: string | undefined;
  /** `OTEL_SERVICE_NAME`, default `lakebase-app`. */
  serviceName: string;
  /** Metric export interval in ms (`OTEL_METRIC_EXPORT_INTERVAL`, 1000..300000, default 60000). */
  metricIntervalMs: number;
}

/** A running export; `shutdown` flushes what is buffered. */
export interface AppTelemetry {
  shutdown(): Promise<void>;
}

/** Starts the OTLP export, or returns undefined when no endpoint is set. */
export async function startTelemetry(settings: TelemetrySettings): Promise<AppTelemetry | undefined> {
  if (!settings.otlpEndpoint) return undefined;
  const base = settings.otlpEndpoint.replace(/\/+$/, '');
  const [api, traces, sdkMetrics, traceExporter, metricExporter, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/exporter-metrics-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const resource = resources.resourceFromAttributes({ 'service.name': settings.serviceName });
  const tracerProvider = new traces.BasicTracerProvider({
    resource,
    spanProcessors: [new traces.BatchSpanProcessor(new traceExporter.OTLPTraceExporter({ url: `${base}/v1/traces` }))],
  });
  const meterProvider = new sdkMetrics.MeterProvider({
    resource,
    readers: [
      new sdkMetrics.PeriodicExportingMetricReader({
        exporter: new metricExporter.OTLPMetricExporter({ url: `${base}/v1/metrics` }),
        exportIntervalMillis: settings.metricIntervalMs,
      }),
    ],
  });
  api.trace.setGlobalTracerProvider(tracerProvider);
  api.metrics.setGlobalMeterProvider(meterProvider);
  return {
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
      api.trace.disable();
      api.metrics.disable();
    },
  };
}
