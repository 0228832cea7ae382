/** The counters a workspace keeps (see `Workspace.stats`). */
/** Counters the emulator keeps for tests and benchmarks. */
export interface WorkspaceStats {
  /** Calls to the credential endpoints that passed authentication, including those failed by injection. */
  credentialRequests: { provisioned: number; autoscaling: number; total: number; failedByInjection: number };
  /** Access tokens issued by `POST /oidc/v1/token`. */
  oauthTokensIssued: number;
  /** Verdicts of `Workspace.authorizeLogin`. */
  logins: { attempted: number; succeeded: number; refused: number; failedByInjection: number };
  /** Reports the SDKs POST to `/telemetry-ext` (accepted and dropped). */
  telemetryReports: number;
  /**
   * Calls to paths (or methods) the emulator does not implement, answered 404 `ENDPOINT_NOT_FOUND`: which API a
   * client needs that the emulator lacks. `calls` lists each distinct `method path` (query string dropped, the first
   * {@link UNKNOWN_ENDPOINTS_LISTED} of them) with its count, most called first; `total` counts every call.
   */
  unknownEndpoints: { total: number; calls: Array<{ method: string; path: string; count: number }> };
}

/** How many distinct unknown endpoints the stats list; more are only counted, so a scanner cannot grow memory. */
export const UNKNOWN_ENDPOINTS_LISTED = 100;
