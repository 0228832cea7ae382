#!/usr/bin/env node
// The `lakebase` command as npm links it. This file is committed (with its executable bit) so that `npm ci` on a fresh
// clone links `node_modules/.bin/lakebase` before anything is built: without it, `npx lakebase` would fall back to the
// public registry and run whatever package is called `lakebase` there. It only loads the compiled CLI.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    'error: the lakebase CLI is not built: packages/cli/dist/bin.js is missing [LAKEBASE_CLI_NOT_BUILT]\n' +
      'fix: run `npm run build` at the repository root, then run the command again.\n',
  );
  process.exit(1);
}
await import(built.href);
