import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The UI lives in web/ and builds into dist/web, which the Fastify server serves. In `npm run dev`, Vite serves it on
// :5173 (VITE_PORT) and forwards /api to the server (PORT, default 8000).
export default defineConfig({
  root: 'web',
  plugins: [react()],
  build: { outDir: '../dist/web', emptyOutDir: true },
  server: {
    port: Number(process.env.VITE_PORT ?? 5173),
    strictPort: true,
    proxy: { '/api': `http://127.0.0.1:${process.env.PORT ?? 8000}` },
  },
});
