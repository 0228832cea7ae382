import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const VERDACCIO = fileURLToPath(new URL('../../node_modules/verdaccio/bin/verdaccio', import.meta.url));

export interface LocalRegistry {
  /** e.g. http://127.0.0.1:40123/ */
  url: string;
  /** A user config (.npmrc) pointing npm at this registry with a token it accepts: set as npm_config_userconfig. */
  userconfig: string;
  /** What verdaccio printed (for a failing test's message). */
  output(): string;
  stop(): Promise<void>;
}

/** The registry npm uses here (the one the local registry proxies everything but the kit's packages to). */
export function upstreamRegistry(): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('npm', ['config', 'get', 'registry'], { timeout: 30_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout.trim()),
    ),
  );
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Verdaccio on 127.0.0.1 (a free port), its storage in `dir`: @lakebase-kit/* are served only from here (anyone may
 * publish them, nothing is proxied, so a package of that name elsewhere can never be installed by mistake); every
 * other package is proxied to `upstream`. Tarballs npm already has in its cache are not downloaded again (npm's cache
 * is keyed by integrity), which keeps reruns fast without a cache of our own.
 */
export async function startLocalRegistry(dir: string, upstream: string): Promise<LocalRegistry> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  await mkdir(dir, { recursive: true });
  const config = path.join(dir, 'verdaccio.yaml');
  await writeFile(
    config,
    [
      `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
      'uplinks:',
      '  upstream:',
      `    url: ${JSON.stringify(upstream)}`,
      '    timeout: 60s',
      'packages:',
      "  '@lakebase-kit/*':",
      '    access: $all',
      '    publish: $all',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    proxy: upstream',
      'web:',
      '  enable: false',
      'middlewares:',
      '  audit:',
      '    enabled: false',
      'log: { type: stdout, format: pretty, level: warn }',
      'max_body_size: 200mb',
      '',
    ].join('\n'),
  );
  const userconfig = path.join(dir, 'npmrc');
  // npm publish insists on a token; the registry lets anyone publish the kit's packages, so any token will do.
  await writeFile(userconfig, `registry=${url}\n//127.0.0.1:${port}/:_authToken=local-test\n`);

  const child: ChildProcess = spawn(
    process.execPath,
    [VERDACCIO, '--config', config, '--listen', `127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await once(child, 'exit');
    clearTimeout(killer);
  };

  // Ready when it answers its ping (bounded: 30 s).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited with ${child.exitCode}:\n${output}`);
    const ok = await fetch(`${url}-/ping`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`verdaccio did not answer on ${url} within 30 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url, userconfig, output: () => output, stop };
}
