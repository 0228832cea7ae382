/** .env.local reading, merging and atomic writing, and the .gitignore entry. */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeEnvText, quoteEnvValue } from '../src/config/env-file.js';
import { loadEnvFiles } from '../src/index.js';
import { ensureGitignored, updateEnvFile } from '../src/toolkit.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-env-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mergeEnvText', () => {
  it('rewrites keys in place, drops their duplicates, removes undefined keys and keeps everything else', () => {
    const text = [
      '# comment',
      'A=1',
      'PGHOST=old',
      'export LAKEBASE_ENDPOINT=projects/p/branches/b/endpoints/e',
      'MULTI="line one',
      'line two"',
      'PGHOST=older-duplicate',
      '',
      'Z=last',
    ].join('\n');
    const merged = mergeEnvText(`${text}\n`, { PGHOST: 'new', LAKEBASE_ENDPOINT: undefined, NEW_KEY: 'v' }, '# added');
    expect(merged).toBe(
      [
        '# comment',
        'A=1',
        'PGHOST=new',
        'MULTI="line one',
        'line two"',
        '',
        'Z=last',
        '',
        '# added',
        'NEW_KEY=v',
        '',
      ].join('\n'),
    );
  });

  it('writes only the header and keys into an empty file, and quotes values dotenv would misread', () => {
    expect(mergeEnvText('', { A: 'x y', B: 'plain-host.example.com' }, '# h')).toBe(
      '# h\nA="x y"\nB=plain-host.example.com\n',
    );
    expect(quoteEnvValue('a#b')).toBe('"a#b"');
    expect(quoteEnvValue('say "hi"')).toBe(`'say "hi"'`);
  });
});

describe('updateEnvFile', () => {
  it('creates the file with mode 0600 and tightens an existing 0644 one, leaving no temporary file', async () => {
    const file = path.join(dir, '.env.local');
    expect(await updateEnvFile(file, { A: '1' })).toEqual({ created: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await chmod(file, 0o644);
    expect(await updateEnvFile(file, { B: '2' })).toEqual({ created: false });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe('# Lakebase\nA=1\n\n# Lakebase\nB=2\n');
    expect(await readdir(dir)).toEqual(['.env.local']);
  });
});

describe('loadEnvFiles', () => {
  it('process env beats .env.local, which beats .env', async () => {
    await writeFile(path.join(dir, '.env'), 'A=from-env\nB=from-env\nC=from-env\n');
    await writeFile(path.join(dir, '.env.local'), 'A=from-local\nB=from-local\n');
    const { env, files } = await loadEnvFiles(dir, { A: 'from-process' });
    expect(env).toMatchObject({ A: 'from-process', B: 'from-local', C: 'from-env' });
    expect(files).toEqual([path.join(dir, '.env.local'), path.join(dir, '.env')]);
  });

  it('no files: just the base environment', async () => {
    expect(await loadEnvFiles(dir, { X: '1' })).toEqual({ env: { X: '1' }, files: [] });
  });
});

describe('ensureGitignored', () => {
  it('creates .gitignore, appends after a missing newline, and respects covering patterns', async () => {
    expect(await ensureGitignored(dir)).toBe(true);
    expect(await readFile(path.join(dir, '.gitignore'), 'utf8')).toBe('.env.local\n');
    expect(await ensureGitignored(dir)).toBe(false);
    await writeFile(path.join(dir, '.gitignore'), 'dist');
    expect(await ensureGitignored(dir)).toBe(true);
    expect(await readFile(path.join(dir, '.gitignore'), 'utf8')).toBe('dist\n.env.local\n');
    for (const covering of ['.env*', '/.env.local', '*.local']) {
      await writeFile(path.join(dir, '.gitignore'), `${covering}\n`);
      expect(await ensureGitignored(dir), covering).toBe(false);
    }
  });
});
