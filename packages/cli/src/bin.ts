#!/usr/bin/env node
import { run } from './program.js';

// `lakebase ... | head`: once the reader has gone, the rest of the output has nowhere to go, and that is not an error
// (as for any Unix tool); without this, the write fails with an unhandled EPIPE and a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await run(process.argv);
