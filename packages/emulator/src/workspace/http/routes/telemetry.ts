import type { FastifyPluginAsync } from 'fastify';
import type { ApiWorkspace } from '../api-workspace.js';

interface TelemetryBody {
  items?: unknown[];
  protoLogs?: unknown[];
}

/**
 * `POST /telemetry-ext`, where the Databricks SDKs and drivers report usage. Accepted with 200 and dropped (only
 * counted), so a client's telemetry neither fails nor shows up as an unknown endpoint. The answer has the shape the
 * drivers read: no errors, every entry accepted.
 */
export function telemetryRoutes(ws: ApiWorkspace): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: TelemetryBody }>('/telemetry-ext', async (request) => {
      ws.countTelemetryReport();
      const body = request.body ?? {};
      const count = (list: unknown) => (Array.isArray(list) ? list.length : 0);
      return {
        errors: [],
        numSuccess: count(body.items),
        numProtoSuccess: count(body.protoLogs),
        numRealtimeSuccess: 0,
      };
    });
  };
}
