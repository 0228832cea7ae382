/**
 * The parts of `@opentelemetry/api` the kit uses, typed structurally so the client compiles and runs without it (an
 * optional peer dependency), and its one loader.
 */

export interface Attributes {
  [key: string]: string | number | boolean | undefined;
}
export interface Span {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}
export interface Instrument {
  record?(value: number, attributes?: Attributes): void;
  add?(value: number, attributes?: Attributes): void;
}
export interface Observable {
  addCallback(callback: (result: { observe(value: number, attributes?: Attributes): void }) => void): void;
}
interface InstrumentOptions {
  description: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}
export interface Meter {
  createHistogram(name: string, options: InstrumentOptions): Instrument;
  createCounter(name: string, options: InstrumentOptions): Instrument;
  createObservableGauge(name: string, options: InstrumentOptions): Observable;
  createObservableCounter(name: string, options: InstrumentOptions): Observable;
  createObservableUpDownCounter(name: string, options: InstrumentOptions): Observable;
}
export interface Tracer {
  startSpan(name: string, options?: unknown): Span;
}
export interface OtelApi {
  trace: { getTracer(name: string, version?: string): Tracer; getTracerProvider(): object };
  metrics: { getMeter(name: string, version?: string): Meter; getMeterProvider(): object };
}

let api: OtelApi | null | undefined; // undefined: not loaded yet; null: not installed
let loading: Promise<OtelApi | null> | undefined;

/** The API if it has loaded (undefined: not yet; null: not installed). */
export function loadedOpenTelemetry(): OtelApi | null | undefined {
  return api;
}

/** Loads `@opentelemetry/api` once; resolves null when it is not installed. */
export function loadOpenTelemetry(): Promise<OtelApi | null> {
  loading ??= import('@opentelemetry/api').then(
    (module) => {
      const m = module as unknown as OtelApi & { default?: OtelApi };
      api = m.trace ? m : (m.default ?? null);
      return api;
    },
    () => {
      api = null;
      return null;
    },
  );
  return loading;
}

/**
 * Which SDK halves are registered: a tracer or meter provider other than the API's no-op ones. With neither, the
 * per-statement hook would only feed no-ops, so it is not installed and queries cost what they did.
 */
export function registeredSdk(otel: OtelApi): { tracing: boolean; metering: boolean } {
  const tracing = otel.trace.getTracerProvider() as { getDelegate?(): object };
  const tracer = tracing.getDelegate?.() ?? tracing;
  return {
    tracing: tracer.constructor.name !== 'NoopTracerProvider',
    metering: otel.metrics.getMeterProvider().constructor.name !== 'NoopMeterProvider',
  };
}
