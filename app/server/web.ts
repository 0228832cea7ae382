import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';
import { AppError } from './errors.js';

/**
 * Serves the built React UI from `webRoot` and answers any other non-API GET with `index.html`, so a reload on a
 * client-side URL still works. Hashed assets are cached for good; `index.html` never is, so a deploy shows at once.
 */
export const webPlugin = fp<{ webRoot: string | undefined }>(
  async (fastify, options) => {
    const root = options.webRoot;
    if (!root || !existsSync(path.join(root, 'index.html'))) {
      fastify.get('/', async (_request, reply) =>
        reply
          .type('text/plain')
          .send(
            'The web UI is not built. Run `npm run build -w lakebase-app`, or use `npm run dev` (Vite on :5173).\n',
          ),
      );
      return;
    }
    await fastify.register(fastifyStatic, {
      root,
      wildcard: false,
      setHeaders: (reply, filePath) => {
        const immutable = filePath.includes(`${path.sep}assets${path.sep}`);
        reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    fastify.get('/*', async (request, reply) => {
      if (request.url.startsWith('/api/') || request.url === '/api') {
        throw new AppError('NOT_FOUND', `No route for GET ${request.url}.`);
      }
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    });
  },
  { name: 'web-ui', dependencies: ['error-handling'], encapsulate: true },
);
