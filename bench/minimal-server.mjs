// Benchmark 6's baseline: the least a Fastify + pg server can do for `GET /api/preferences` (same SQL, same JSON
// shape, same pool size, same identity header), with Fastify's defaults (no logger, no schemas, no plugins). Like the
// app, it runs the query as a named prepared statement, so the comparison measures the server, not the statement.
// Env: BENCH_DATABASE_URL, BENCH_POOL_MAX, PORT.
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: Number(process.env.BENCH_POOL_MAX) });
const app = Fastify();

app.get('/api/preferences', async (request) => {
  const email = request.headers['x-forwarded-email'] ?? 'dev@example.com';
  const { rows } = await pool.query({
    name: 'preferences_list',
    text: 'select key, value, created_at, updated_at from user_preferences where user_email = $1 order by key',
    values: [email],
  });
  return {
    preferences: rows.map((row) => ({
      key: row.key,
      value: row.value,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    })),
  };
});
app.get('/api/health', async () => ({ ok: true }));

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () =>
    app
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0)),
  );
