import { useCallback, useEffect, useState } from 'react';
import { ApiError, api, type Health, type Me, type Preference } from './api';
import { Preferences } from './components/Preferences';
import { StatusPanel } from './components/StatusPanel';

const HEALTH_POLL_MS = 10_000;

export function App() {
  const [me, setMe] = useState<Me | ApiError>();
  const [health, setHealth] = useState<Health>();
  const [preferences, setPreferences] = useState<Preference[]>();
  const [loadError, setLoadError] = useState<ApiError>();

  const loadPreferences = useCallback(async () => {
    try {
      setPreferences(await api.listPreferences());
      setLoadError(undefined);
    } catch (error) {
      setLoadError(asApiError(error));
    }
  }, []);

  const refreshHealth = useCallback(() => {
    api.health().then(setHealth, () => setHealth(undefined));
  }, []);

  useEffect(() => {
    api.me().then(setMe, (error) => setMe(asApiError(error)));
    void loadPreferences();
    refreshHealth();
    const timer = setInterval(refreshHealth, HEALTH_POLL_MS);
    return () => clearInterval(timer);
  }, [loadPreferences, refreshHealth]);

  return (
    <main className="page">
      <header className="header">
        <h1>Lakebase app</h1>
        <Identity me={me} />
      </header>
      {loadError && <ErrorBanner error={loadError} />}
      <StatusPanel health={health} onRefresh={refreshHealth} />
      {preferences && (
        <Preferences
          preferences={preferences}
          onChanged={() => {
            void loadPreferences();
            refreshHealth();
          }}
        />
      )}
    </main>
  );
}

function Identity({ me }: { me: Me | ApiError | undefined }) {
  if (!me) return <p className="muted">Loading who you are…</p>;
  if (me instanceof ApiError) return <p className="error-text">Not signed in: {me.message}</p>;
  return (
    <p className="identity">
      Signed in as <strong data-testid="user-email">{me.email}</strong>
      <span className="badge">{me.source === 'proxy' ? 'Databricks Apps' : 'local dev user'}</span>
    </p>
  );
}

/** The not-configured banner of the original template, and the same for any other database failure. */
function ErrorBanner({ error }: { error: ApiError }) {
  const notConfigured = error.code === 'LAKEBASE_NOT_CONFIGURED';
  return (
    <section className={`banner ${notConfigured ? 'banner-warning' : 'banner-error'}`} role="alert">
      <h2>{notConfigured ? 'Lakebase is not configured' : 'Preferences are unavailable'}</h2>
      <p>{error.message}</p>
      {error.suggestion && <p className="suggestion">{error.suggestion}</p>}
      <p className="muted">
        <code>{error.code}</code>
      </p>
    </section>
  );
}

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'UNEXPECTED', String(error));
}
