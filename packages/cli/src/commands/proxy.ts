import { homedir } from 'node:os';
import path from 'node:path';
import { type LakebaseProxy, type ProxyOptions, startProxy } from '@lakebase-kit/client/toolkit';
import { ensureCertificates } from '@lakebase-kit/emulator';
import type { Command } from 'commander';
import { commandOptions, stderrLogger, waitForShutdownSignal } from '../context.js';
import { integerIn } from '../options.js';
import { printJson } from '../output.js';

interface ProxyFlags {
  port: number;
  address: string;
  readOnly?: boolean;
  allowUser?: boolean;
  localPassword?: string;
  tls?: boolean;
  tlsDir?: string;
  healthPort?: number;
  drainSeconds: number;
  json?: boolean;
  verbose?: boolean;
}

export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description(
      'Run a local PostgreSQL endpoint that logs every client in to Lakebase with a fresh token: point any tool at it.',
    )
    .option('--port <n>', 'port to listen on', integerIn(0, 65535), 5432)
    .option('--address <host>', 'interface to listen on; anything but loopback needs --local-password', '127.0.0.1')
    .option('--branch <name>', 'use this branch of the project (as LAKEBASE_BRANCH does)')
    .option('--read-only', 'connect to the read host (read replica) instead of the read-write host')
    .option(
      '--allow-user',
      "pass the user a client names through: another user logs in with its own password (its token, or a password role's)",
    )
    .option(
      '--local-password <password>',
      'password local clients must give, checked with SCRAM-SHA-256 (default: LAKEBASE_PROXY_PASSWORD)',
    )
    .option('--tls', 'offer TLS to local clients, with a generated localhost certificate (see --tls-dir)')
    .option('--tls-dir <dir>', 'where the generated CA and certificate live (default ~/.lakebase/proxy)')
    .option('--health-port <n>', 'serve GET /healthz on this port (200 while accepting)', integerIn(0, 65535))
    .option('--drain-seconds <n>', 'on SIGINT/SIGTERM, wait this long for clients to finish', integerIn(0, 3600), 10)
    .option('--json', 'print the ready line as one JSON line {"url","host","port","database","user"}')
    .option('--verbose', 'print a line for each client session (never a token)')
    .addHelpText(
      'after',
      `
Each client connection gets its own Lakebase connection, logged in over verified TLS with a token from a cache that
is refreshed ahead of expiry; after the login the proxy passes bytes untouched. Clients connect without TLS (or with
--tls) and with any password (or none) unless --local-password is set. Off loopback (--address 0.0.0.0) a local
password is required; prefer LAKEBASE_PROXY_PASSWORD to the flag, which other users can see in ps.

Examples:
  $ lakebase proxy
  $ psql "host=127.0.0.1 port=5432 dbname=databricks_postgres"
  $ lakebase proxy --port 6543 --branch dev-alice --verbose
  $ lakebase proxy --json --health-port 8081 &   # for scripts and containers
  $ LAKEBASE_PROXY_PASSWORD=s3cret lakebase proxy --address 0.0.0.0`,
    )
    .action(async (flags: ProxyFlags) => {
      const base = await commandOptions();
      const localPassword = flags.localPassword ?? base.env?.LAKEBASE_PROXY_PASSWORD;
      const options: ProxyOptions = {
        ...base,
        listenAddress: flags.address,
        listenPort: flags.port,
        logger: flags.verbose ? verboseLogger : stderrLogger,
        ...(flags.readOnly ? { readOnly: true } : {}),
        ...(flags.allowUser ? { allowUser: true } : {}),
        ...(localPassword ? { localPassword } : {}),
        ...(flags.healthPort !== undefined ? { healthPort: flags.healthPort } : {}),
      };
      if (flags.tls) {
        const certs = await ensureCertificates(flags.tlsDir ?? path.join(homedir(), '.lakebase', 'proxy'));
        options.tls = { certPem: certs.certPem, keyPem: certs.keyPem };
        process.stderr.write(`lakebase proxy: TLS certificate for localhost, signed by ${certs.caFile}\n`);
      }
      const proxy = await startProxy(options);
      printReady(proxy, flags);
      await waitForShutdownSignal();
      process.stderr.write(`lakebase proxy: stopping; waiting up to ${flags.drainSeconds} s for clients to finish\n`);
      await proxy.close({ drainMs: flags.drainSeconds * 1000 });
    });
}

const line =
  (label: string) =>
  (message: string, fields?: Record<string, unknown>): void => {
    process.stderr.write(
      `${label}${message}${fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}\n`,
    );
  };

/** Every library line on stderr (already redacted by the library), one each. */
const verboseLogger = { info: line(''), debug: line(''), warn: line('warning: ') };

function printReady(proxy: LakebaseProxy, flags: ProxyFlags): void {
  if (flags.json) {
    printJson({ url: proxy.url, host: proxy.host, port: proxy.port, database: proxy.database, user: proxy.user });
    return;
  }
  const health = proxy.healthPort === undefined ? '' : `, health on http://${proxy.host}:${proxy.healthPort}/healthz`;
  process.stdout.write(
    `lakebase proxy: listening on ${proxy.host}:${proxy.port} as ${proxy.user}${health}\n` +
      `  connect with: psql "host=${proxy.host} port=${proxy.port} dbname=${proxy.database}"\n` +
      '  Press Ctrl-C to stop.\n',
  );
}
