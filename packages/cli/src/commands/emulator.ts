import path from 'node:path';
import { parseRoleName, shellQuote } from '@lakebase-kit/client/toolkit';
import { type Emulator, type EmulatorOptions, startEmulator } from '@lakebase-kit/emulator';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { waitForShutdownSignal } from '../context.js';
import { integerIn } from '../options.js';
import { printJson } from '../output.js';

interface EmulatorFlags {
  dataDir: string;
  apiPort: number;
  apiTlsPort?: number;
  pgPort: number;
  tokenTtl: number;
  upstream?: string;
  storage: 'postgres' | 'pglite';
  user?: string;
  host: string;
  pooledOauth: 'allow' | 'refuse';
  json?: boolean;
}

export function registerEmulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description('Run a local Lakebase: a fake Databricks workspace API and a TLS PostgreSQL that checks tokens.')
    .option('--data-dir <dir>', 'where data, TLS certificates and workspace state are kept', '.lakebase/emulator')
    .option(
      '--api-port <n>',
      'workspace REST API port, plain HTTP (0 picks a free port); 443 serves HTTPS there, for clients that force https://<host> (needs root or cap_net_bind_service)',
      integerIn(0, 65535),
      8765,
    )
    .option(
      '--api-tls-port <n>',
      `the same API over HTTPS, same CA as PostgreSQL (default ${DEFAULT_TLS_PORT}; a free port with --api-port 0)`,
      integerIn(0, 65535),
    )
    .option('--pg-port <n>', 'PostgreSQL port (0 picks a free port)', integerIn(0, 65535), 55432)
    .option('--token-ttl <seconds>', 'lifetime of minted database tokens', integerIn(1, 86_400), 3600)
    .option(
      '--storage <kind>',
      'postgres: a real PostgreSQL run from the data dir; pglite: embedded PGlite, one shared session',
      storageKind,
      'postgres',
    )
    .option('--upstream <url>', 'store data in this PostgreSQL server (admin URL) instead')
    .option('--user <email>', 'the workspace user (the PostgreSQL role of its tokens)')
    .option('--host <address>', 'address to bind; anything but loopback must be asked for explicitly', '127.0.0.1')
    .addOption(
      new Option(
        '--pooled-oauth <mode>',
        'whether the pooled hosts accept OAuth token logins (refuse: native password roles only)',
      )
        .choices(['allow', 'refuse'])
        .default('allow'),
    )
    .option('--json', 'print one JSON line with the connection details when ready')
    .addHelpText(
      'after',
      `
Examples:
  $ lakebase emulator
  $ lakebase emulator --api-port 0 --pg-port 0 --json
  $ sudo lakebase emulator --api-port 443     # DATABRICKS_HOST=https://localhost, for clients that drop the port
  $ lakebase emulator --storage pglite
  $ lakebase emulator --upstream postgresql://postgres@127.0.0.1:5432/test --token-ttl 60

Then, in another shell:
  $ PGPASSWORD=$(lakebase token) psql "host=localhost port=55432 user=dev@example.com dbname=databricks_postgres \\
      sslmode=verify-full sslrootcert=.lakebase/emulator/tls/ca.pem"`,
    )
    .action(async (flags: EmulatorFlags) => {
      const options: EmulatorOptions = {
        dataDir: path.resolve(flags.dataDir),
        apiPort: flags.apiPort,
        // With --api-port 443 the HTTPS API takes 443 and plain HTTP a free port.
        ...(flags.apiPort !== 443 || flags.apiTlsPort !== undefined
          ? { apiTlsPort: flags.apiTlsPort ?? (flags.apiPort === 0 ? 0 : DEFAULT_TLS_PORT) }
          : {}),
        pgPort: flags.pgPort,
        tokenTtlSeconds: flags.tokenTtl,
        host: flags.host,
        allowNonLoopback: flags.host !== '127.0.0.1' && flags.host !== 'localhost' && flags.host !== '::1',
        storage: flags.storage,
        pooledOAuth: flags.pooledOauth,
        ...(flags.upstream !== undefined ? { upstream: flags.upstream } : {}),
        ...(flags.user !== undefined ? { user: parseRoleName(flags.user, '--user') } : {}),
      };
      const emulator = await startEmulator(options);
      if (flags.json) printJson(emulator.connectionInfo());
      else printSummary(emulator);
      await waitForShutdownSignal();
      await emulator.stop();
      if (!flags.json) process.stderr.write('emulator stopped, data flushed\n');
    });
}

const DEFAULT_TLS_PORT = 8766;

function storageKind(value: string): 'postgres' | 'pglite' {
  if (value === 'postgres' || value === 'pglite') return value;
  throw new InvalidArgumentError(`expected postgres or pglite, got '${value}'.`);
}

function printSummary(emulator: Emulator): void {
  const info = emulator.connectionInfo();
  const env = emulator.env();
  const lines = [
    `Lakebase emulator ready (storage: ${info.storage}, data: ${info.dataDir})`,
    `  workspace API   ${info.databricksHostHttp} (HTTP), ${info.databricksHostTls} (HTTPS, CA ${info.caFile})`,
    `  PostgreSQL      ${info.pgHost}:${info.pgPort} (TLS required, CA ${info.caFile})`,
    `  user            ${info.user}`,
    `  instance        ${info.instanceName}`,
    `  endpoint        ${info.endpoint}`,
    '',
    'Environment for a client (Provisioned tier):',
    ...Object.entries(env).map(([name, value]) => `  export ${name}=${shellQuote(value)}`),
    '',
    info.apiTlsPort === 443
      ? 'DATABRICKS_HOST is the HTTPS API on 443: NODE_EXTRA_CA_CERTS makes Node trust it and PostgreSQL alike.'
      : `Clients that force https://<host> (older Databricks JS SDKs) reach only port 443: restart with --api-port 443 (as root or with cap_net_bind_service); clients that keep the port can use DATABRICKS_HOST=${info.databricksHostTls}.`,
    '',
    'Press Ctrl-C to stop.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
