/**
 * Runs against the BUILT package (dist/index.js and dist/cjs/index.js), not the sources: run it after
 * `npm run build:runtime` (or `npx tsc -b packages/client && node scripts/build-cjs.mjs packages/client`); the default
 * `npm test` builds first. A missing or stale build fails the test with that instruction rather than testing old code.
 *
 * One process that loads the ESM build and the CommonJS build has two copies of every class (a CommonJS dependency and
 * an ESM app both using the client). An error made by one copy is still a LakebaseError to the other.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const esm = join(root, 'dist', 'index.js');
const cjs = join(root, 'dist', 'cjs', 'index.js');

/** Each source this test is about against its ESM output (tsc rewrites only changed files) and the CommonJS bundle. */
function assertBuilt(): void {
  for (const name of ['errors', 'error-codes']) {
    const source = join(root, 'src', `${name}.ts`);
    if (!existsSync(source)) continue;
    for (const built of [join(root, 'dist', `${name}.js`), cjs]) {
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
        throw new Error(`${built} is missing or older than src/${name}.ts: run \`npm run build:runtime\` first`);
      }
    }
  }
}

/** Both builds in one Node process; prints what each copy says about the other's errors. */
const SCRIPT = `
const { pathToFileURL } = require('node:url');
(async () => {
  const fromCjs = require(${JSON.stringify(cjs)});
  const fromEsm = await import(pathToFileURL(${JSON.stringify(esm)}).href);
  if (fromCjs.LakebaseError === fromEsm.LakebaseError) throw new Error('one copy loaded, not two');
  const cjsError = new fromCjs.LakebaseError('LAKEBASE_CLOSED', 'closed by the CommonJS copy');
  const esmError = new fromEsm.LakebaseError('LAKEBASE_CLOSED', 'closed by the ESM copy');
  const plain = Object.assign(new Error('look-alike'), { name: 'LakebaseError', code: 'LAKEBASE_CLOSED' });
  console.log(JSON.stringify({
    esmSeesCjs: fromEsm.isLakebaseError(cjsError),
    esmSeesCjsWithCode: fromEsm.isLakebaseError(cjsError, 'LAKEBASE_CLOSED'),
    esmSeesCjsOtherCode: fromEsm.isLakebaseError(cjsError, 'LAKEBASE_API_ERROR'),
    cjsSeesEsm: fromCjs.isLakebaseError(esmError),
    cjsSeesEsmWithCode: fromCjs.isLakebaseError(esmError, 'LAKEBASE_CLOSED'),
    instanceofEsmOfCjs: cjsError instanceof fromEsm.LakebaseError,
    instanceofCjsOfEsm: esmError instanceof fromCjs.LakebaseError,
    instanceofOwn: esmError instanceof fromEsm.LakebaseError && cjsError instanceof fromCjs.LakebaseError,
    plainErrorIsNot: fromEsm.isLakebaseError(plain) || fromCjs.isLakebaseError(plain) || plain instanceof fromEsm.LakebaseError,
    nonErrorsAreNot: [null, undefined, 'LAKEBASE_CLOSED', {}, Object.create(null)].some(
      (value) => fromEsm.isLakebaseError(value) || fromCjs.isLakebaseError(value) || value instanceof fromCjs.LakebaseError,
    ),
    subclassOfErrorIsNot: new TypeError('x') instanceof fromEsm.LakebaseError,
  }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

describe('LakebaseError across the ESM and CommonJS builds (built files)', () => {
  it('isLakebaseError and instanceof recognise an error of the other build, in both directions, in one process', () => {
    assertBuilt();
    const out = execFileSync(process.execPath, ['--input-type=commonjs', '-e', SCRIPT], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(JSON.parse(out)).toEqual({
      esmSeesCjs: true,
      esmSeesCjsWithCode: true,
      esmSeesCjsOtherCode: false,
      cjsSeesEsm: true,
      cjsSeesEsmWithCode: true,
      instanceofEsmOfCjs: true,
      instanceofCjsOfEsm: true,
      instanceofOwn: true,
      plainErrorIsNot: false,
      nonErrorsAreNot: false,
      subclassOfErrorIsNot: false,
    });
  });
});
