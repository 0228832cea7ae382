import Fastify, { type FastifyInstance } from 'fastify';
import type { Pool } from 'pg';

/** The API: a health check that asks the database, and one table's route. */
export function buildApp(pool: Pool, options: { logger?: boolean } = {}): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false });

  app.get('/api/health', async (_request, reply) => {
    try {
      await pool.query('SELECT 1');
      return { status: 'ok', database: { reachable: true } };
    } catch {
      return reply.code(503).send({ status: 'unavailable', database: { reachable: false } });
    }
  });

  app.get('/api/notes', async () => {
    const { rows } = await pool.query('SELECT id::text, body, created_at FROM notes ORDER BY id DESC LIMIT 100');
    return rows;
  });

  app.post<{ Body: { body: string } }>(
    '/api/notes',
    {
      schema: {
        body: {
          type: 'object',
          required: ['body'],
          additionalProperties: false,
          properties: { body: { type: 'string', minLength: 1, maxLength: 1000 } },
        },
      },
    },
    async (request, reply) => {
      const { rows } = await pool.query('INSERT INTO notes (body) VALUES ($1) RETURNING id::text, body, created_at', [
        request.body.body,
      ]);
      return reply.code(201).send(rows[0]);
    },
  );

  return app;
}
