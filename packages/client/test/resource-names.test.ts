/**
 * The resource-name parsers (config/names.ts) and the REST path encoder, attacked from every side: dots, slashes,
 * percent-encoded text, backslashes, unicode lookalikes, case, whitespace, length and control characters. Each bad
 * input is `LAKEBASE_CONFIG_INVALID` with a suggestion; names from the server are `LAKEBASE_API_ERROR`.
 */
import { describe, expect, it } from 'vitest';
import {
  branchIn,
  fromServer,
  type ProjectName,
  parseBranchId,
  parseBranchName,
  parseDatabaseId,
  parseEndpointId,
  parseEndpointName,
  parseInstanceName,
  parseOperationName,
  parseProjectId,
  parseProjectName,
  parseRoleName,
  unsafeSegment,
} from '../src/config/names.js';
import { isLakebaseError } from '../src/errors.js';
import { encodePath } from '../src/workspace/api.js';
import { projectName } from '../src/workspace/branches.js';

function refused(parse: () => unknown, code = 'LAKEBASE_CONFIG_INVALID'): void {
  let caught: unknown;
  try {
    parse();
  } catch (error) {
    caught = error;
  }
  expect(isLakebaseError(caught), `expected a LakebaseError, got ${String(caught)}`).toBe(true);
  expect(caught).toMatchObject({ code, suggestion: expect.stringMatching(/\S/) });
}

/** Inputs no resource name of any kind may be. */
const HOSTILE = [
  '',
  '.',
  '..',
  '../x',
  'dev/..',
  'dev/../../database/instances/x',
  'x/../../preview/scim/v2/Me',
  '%2e%2e',
  '%2E%2E',
  'a%2Fb',
  'a%2fb',
  '%',
  'dev\\..\\x',
  'a\\b',
  'dev\u0000',
  'dev\nx',
  'dev\r',
  'dev\u007f',
  'dev\u2028',
  'a\uff0fb', // fullwidth solidus, NFKC '/'
  'a\u2215b', // division slash
  '\u2024\u2024', // one dot leader twice, NFKC '..'
  '\uff0e\uff0e', // fullwidth full stops, NFKC '..'
];

/** More inputs that are not `[a-z0-9-]` ids. */
const NOT_IDS = [
  ...HOSTILE,
  'Dev',
  'DEV-ALICE',
  ' dev',
  'dev ',
  'de v',
  '\tdev',
  'dev.alice',
  'dev_alice',
  '-dev',
  'dev-',
  '1dev',
  'dév',
  'd\u0435v', // Cyrillic е
  'ｄｅｖ', // fullwidth letters
  'a'.repeat(64),
  'projects/p',
];

describe('id parsers: project, branch, endpoint, database', () => {
  const parsers = { parseProjectId, parseBranchId, parseEndpointId, parseDatabaseId };
  for (const [name, parse] of Object.entries(parsers)) {
    it(`${name} accepts Databricks ids and refuses everything else`, () => {
      for (const good of ['a', 'dev-alice', 'pr-42', 'a1', `a${'b'.repeat(62)}`]) expect(parse(good)).toBe(good);
      for (const bad of NOT_IDS) refused(() => parse(bad));
      refused(() => parse(undefined as unknown as string));
      refused(() => parse(42 as unknown as string));
    });
  }

  it('names the source and shows control characters escaped', () => {
    expect(() => parseBranchId('dev\u0000\n', 'LAKEBASE_BRANCH')).toThrow(
      "Invalid branch name 'dev\\u0000\\u000a' (LAKEBASE_BRANCH)",
    );
  });
});

describe('parseInstanceName', () => {
  it('accepts DNS labels (case left to the API, as before) and refuses the rest', () => {
    for (const good of ['my-db', 'db1', '1db', 'MyDb', 'a'.repeat(63)]) expect(parseInstanceName(good)).toBe(good);
    for (const bad of [...HOSTILE, 'my_db', '-db', 'db-', 'a'.repeat(64), 'db.example', ' db', 'd\u0435v', 'ｄｂ']) {
      refused(() => parseInstanceName(bad));
    }
  });

  it('suggests the likely intended name', () => {
    expect(() => parseInstanceName('My_DB')).toThrow(
      expect.objectContaining({ suggestion: expect.stringContaining("'my-db'") }),
    );
  });
});

describe('parseRoleName', () => {
  it('accepts emails, service principal ids and group names', () => {
    for (const good of [
      'jane@example.com',
      'first.last+tag@example.co.uk',
      '6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
      'lakebase_app_users',
      'Data Engineers',
      'o\u0027brien@example.com',
      'ünïcødé@example.com',
      '...a', // dots inside a name are no path segment
    ]) {
      expect(parseRoleName(good)).toBe(good);
    }
  });

  it("refuses '/', '.' and '..', '%', backslashes, control characters, lookalikes, spaces around, empty and over-long", () => {
    for (const bad of [
      ...HOSTILE,
      ' jane@example.com',
      'jane@example.com ',
      '\t',
      'a'.repeat(257),
      'jane%40example.com',
    ]) {
      refused(() => parseRoleName(bad));
    }
  });
});

describe('full names', () => {
  it('parseProjectName takes an id or projects/<id>', () => {
    expect(parseProjectName('my-app')).toBe('projects/my-app');
    expect(parseProjectName('projects/my-app')).toBe('projects/my-app');
    for (const bad of [
      ...HOSTILE,
      'projects/',
      'projects/My-App',
      'projects/a/branches/b',
      'project/a',
      'projects/a/',
    ]) {
      refused(() => parseProjectName(bad));
    }
  });

  it('projectName (the branch helpers) also takes a branch or endpoint name, each parsed whole', () => {
    expect(projectName('p')).toBe('projects/p');
    expect(projectName('projects/p/branches/b')).toBe('projects/p');
    expect(projectName('projects/p/branches/b/endpoints/e')).toBe('projects/p');
    for (const bad of [...HOSTILE, 'projects/p/branches/../x', 'projects/p/branches/b/endpoints/..', 'projects/p/x']) {
      refused(() => projectName(bad));
    }
  });

  it('parseBranchName takes projects/<p>/branches/<b> exactly', () => {
    expect(parseBranchName('projects/p/branches/dev')).toBe('projects/p/branches/dev');
    for (const bad of [
      ...HOSTILE,
      'dev',
      'projects/p/branches/',
      'projects/p/branches/dev/',
      'projects/p//branches/dev',
      'projects/p/branches/dev/../prod',
      'projects/p/branches/../../database/instances/x',
      'projects/p/branches/%2e%2e',
      'projects/p/branches/dev/endpoints/primary',
      'projects/p/branches/Dev',
      '/projects/p/branches/dev',
    ]) {
      refused(() => parseBranchName(bad));
    }
  });

  it('parseEndpointName takes projects/<p>/branches/<b>/endpoints/<e> exactly', () => {
    const good = 'projects/p/branches/b/endpoints/e';
    expect(parseEndpointName(good)).toBe(good);
    for (const bad of [
      ...HOSTILE,
      'projects/p/endpoints/e',
      `${good}/`,
      `${good}/..`,
      'projects/p/branches/b/endpoints/../../../../preview/scim/v2/Me',
      'projects/p/branches/b/endpoints/e%2F..',
      'projects/p/branches/b/endpoints/E',
    ]) {
      refused(() => parseEndpointName(bad));
    }
  });

  it('parseOperationName takes <resource>/operations/<id>', () => {
    for (const good of [
      'projects/p/operations/1f0e9a34-5b6c-4d7e-8f90-a1b2c3d4e5f6',
      'projects/p/branches/b/operations/op-1',
      'projects/p/branches/b/endpoints/e/operations/X_1',
    ]) {
      expect(parseOperationName(good)).toBe(good);
    }
    for (const bad of [
      ...HOSTILE,
      'projects/p/branches/../../x',
      'projects/p/operations/..',
      'projects/p/operations/a.b',
      'projects/p/operations/',
      'projects/p/operations/a/b',
      'projects/p/branches/b',
      'operations/1',
      'projects/p/operations/%2e%2e',
    ]) {
      refused(() => parseOperationName(bad));
    }
  });

  it('branchIn takes an id or a full name of the same project, never another project', () => {
    const project = parseProjectName('p') as ProjectName;
    expect(branchIn(project, 'dev')).toBe('projects/p/branches/dev');
    expect(branchIn(project, 'projects/p/branches/dev')).toBe('projects/p/branches/dev');
    refused(() => branchIn(project, 'projects/other/branches/dev'));
    for (const bad of NOT_IDS) refused(() => branchIn(project, bad));
  });

  it('fromServer turns a malformed server name into LAKEBASE_API_ERROR, escaped', () => {
    expect(fromServer(parseBranchName, 'projects/p/branches/b', 'a branch')).toBe('projects/p/branches/b');
    for (const bad of ['projects/p/branches/../../x', undefined, 7, { name: 'x' }]) {
      refused(() => fromServer(parseBranchName, bad, 'a branch'), 'LAKEBASE_API_ERROR');
    }
  });
});

describe('the REST path encoder refuses unsafe segments whoever calls it', () => {
  it('encodes good segments and keeps the slashes', () => {
    expect(encodePath('projects/p/branches/dev')).toBe('projects/p/branches/dev');
    expect(encodePath('jane@example.com')).toBe('jane%40example.com');
    expect(encodePath('Data Engineers')).toBe('Data%20Engineers');
  });

  it('refuses dot segments, empty segments, encoded slashes and dots, backslashes and control characters', () => {
    for (const bad of [
      '',
      '/',
      'projects//p',
      'projects/p/',
      '/projects/p',
      'projects/p/branches/..',
      'projects/p/branches/.',
      'projects/p/branches/dev/../../x',
      'projects/p/branches/%2e%2e',
      'projects/p/branches/a%2Fb',
      'projects/p/branches/a%5Cb',
      'projects/p/branches/a\\b',
      'projects/p/branches/a\u0000',
      'projects/p/branches/\uff0e\uff0e',
      'projects/p/branches/a\uff0fb',
    ]) {
      refused(() => encodePath(bad));
    }
  });

  it('unsafeSegment says why', () => {
    expect(unsafeSegment('..')).toMatch(/relative/);
    expect(unsafeSegment('a%2F')).toMatch(/%/);
    expect(unsafeSegment('ok')).toBeUndefined();
  });
});
