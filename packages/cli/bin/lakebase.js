#!/usr/bin/env node
// The `lakebase` command as npm links it. This file is committed (with its executable bit) so that `npm ci` on a fresh
// clone links `node_modules/.bin/lakebase` before anything is built: without it, `npx lakebase` would fall back to the
// public registry and run whatever package is called `lakebase` there. It loads the compiled CLI.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    'error: the lakebase CLI is not built: packages/cli/dist/bin.js is missing [LAKEBASE_CLI_NOT_BUILT]\n' +
      'fix: run `npm run build` at the repository root, then run the command again.\n',
  );
  process.exit(1);
}

// `npx lakebase` starts the bin through `sh -c`, and npm forwards SIGTERM/SIGINT to that shell only, which dies without
// passing it on (dash does not exec the command): we would run on, orphaned, holding the emulator's data-dir lock. So
// under npx (npm_command=exec), the parent going away is our stop signal, delivered once. Not under `npm run`, where a
// script may mean to leave `lakebase emulator &` running; a script that runs it in the foreground should `exec` it.
if (process.env.npm_command === 'exec') {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 200);
  watch.unref();
}
await import(built.href);
