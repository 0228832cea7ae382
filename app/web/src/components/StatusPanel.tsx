import { useEffect, useState } from 'react';
import type { Health } from '../api';

/** Database status: tier, resource, role, token expiry (counting down) and pool usage. */
export function StatusPanel({ health, onRefresh }: { health: Health | undefined; onRefresh: () => void }) {
  const now = useNow(1000);
  const database = health?.database;
  const info = database?.info;
  const pool = database?.pool;
  const state = !health
    ? 'unknown'
    : !database?.configured
      ? 'not configured'
      : database.reachable
        ? 'connected'
        : 'unreachable';

  return (
    <section className="card">
      <div className="card-title">
        <h2>Database</h2>
        <span className={`status status-${state.replace(' ', '-')}`} data-testid="db-state">
          {state}
        </span>
        <button type="button" className="link" onClick={onRefresh}>
          Refresh
        </button>
      </div>
      {info && (
        <dl className="facts">
          <dt>Tier</dt>
          <dd>
            {info.tier}
            {info.emulator && <span className="badge">embedded emulator</span>}
          </dd>
          {info.instanceName && <Fact label="Instance" value={info.instanceName} />}
          {info.endpoint && <Fact label="Endpoint" value={info.endpoint} />}
          <Fact label="Database" value={`${info.database}${info.host ? ` on ${info.host}` : ''}`} />
          {info.user && <Fact label="Role" value={info.user} />}
          <Fact
            label="Token expires"
            value={database?.tokenExpiresAt ? countdown(database.tokenExpiresAt, now) : 'n/a (password)'}
          />
          {pool && (
            <>
              <dt>Pool</dt>
              <dd>
                <meter min={0} max={pool.max} value={pool.total - pool.idle} title="connections in use" />{' '}
                {pool.total - pool.idle} in use, {pool.idle} idle, {pool.waiting} waiting (max {pool.max})
              </dd>
            </>
          )}
          {database?.latencyMs !== undefined && <Fact label="Ping" value={`${database.latencyMs} ms`} />}
        </dl>
      )}
      {database?.error && database.configured && (
        <p className="error-text">
          {database.error.message} {database.error.suggestion}
        </p>
      )}
    </section>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
}

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** "in 59:12" / "expired 0:05 ago"; the server refreshes the token ahead of expiry, so this restarts near 5 min. */
function countdown(iso: string, now: number): string {
  const ms = new Date(iso).getTime() - now;
  const total = Math.floor(Math.abs(ms) / 1000);
  const text = `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
  return ms >= 0 ? `in ${text} (${new Date(iso).toLocaleTimeString()})` : `expired ${text} ago`;
}
