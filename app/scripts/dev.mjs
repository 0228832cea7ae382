#!/usr/bin/env node
// `npm run dev`: compile the server once, then run three watchers side by side: tsc (server -> dist/server),
// `node --watch` (restarts the server when its output changes) and Vite (the UI on :5173, proxying /api to :8000).
// The original template's watch.sh. Ctrl-C stops all three.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = fileURLToPath(new URL('..', import.meta.url));
// Resolved like imports, so this works in the monorepo (hoisted node_modules) and in a copied-out template alike.
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const vite = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
const node = (args) => spawn(process.execPath, args, { cwd: appDir, stdio: 'inherit' });

const first = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.json'], { cwd: appDir, stdio: 'inherit' });
if (first.status !== 0) process.exit(first.status ?? 1);

const children = [
  node([tsc, '-b', 'tsconfig.json', '--watch', '--preserveWatchOutput']),
  node(['--watch', 'dist/server/main.js']),
  node([vite]),
];

let stopping = false;
const stop = (code) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  process.exitCode = code;
  // The server gives itself 15 s to shut down; whatever is still running after 20 s is killed, so Ctrl-C always ends.
  setTimeout(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, 20_000).unref();
};
for (const child of children) child.on('exit', (code) => stop(code ?? 0));
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
