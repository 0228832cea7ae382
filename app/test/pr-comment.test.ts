/**
 * scripts/pr-comment.mjs against a stand-in for GitHub's issue-comments API: it finds its comment by the body's first
 * line across pages and updates it, and refuses to run without a token, a pull request number or a marker line.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpServer, listenOnLoopback } from '../../test/helpers/loopback-http.js';

const SCRIPT = fileURLToPath(new URL('../scripts/pr-comment.mjs', import.meta.url));
const MARKER = '<!-- lakebase-schema-diff -->';

/** 150 comments of others, ours (the marker first) on the second page. */
const comments = Array.from({ length: 150 }, (_, i) => ({ id: i + 1, body: `comment ${i + 1}` }));
comments.splice(120, 0, { id: 999, body: `${MARKER}\nold diff` });
const requests: string[] = [];
let server: http.Server;
let api: string;
let dir: string;

beforeAll(async () => {
  server = http.createServer(async (request, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    requests.push(`${request.method} ${request.url}`);
    const url = new URL(request.url ?? '/', 'http://github.test');
    response.setHeader('content-type', 'application/json');
    if (request.method === 'GET' && url.pathname === '/repos/acme/app/issues/7/comments') {
      const page = Number(url.searchParams.get('page'));
      return response.end(JSON.stringify(comments.slice((page - 1) * 100, page * 100)));
    }
    if (request.method === 'PATCH' && url.pathname === '/repos/acme/app/issues/comments/999') {
      (comments[120] as { body: string }).body = JSON.parse(text).body;
      return response.end(JSON.stringify(comments[120]));
    }
    response.statusCode = 404;
    response.end('{"message":"Not Found"}');
  });
  api = await listenOnLoopback(server);
  dir = await mkdtemp(path.join(os.tmpdir(), 'pr-comment-'));
});
afterAll(async () => {
  await closeHttpServer(server);
  await rm(dir, { recursive: true, force: true });
});

function comment(file: string, extra: Record<string, string | undefined> = {}) {
  const env = {
    PATH: process.env.PATH,
    GITHUB_API_URL: api,
    GITHUB_TOKEN: 'gh-test-token',
    GITHUB_REPOSITORY: 'acme/app',
    PR_NUMBER: '7',
    ...extra,
  };
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [SCRIPT, file], { env, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('scripts/pr-comment.mjs', () => {
  it('updates the comment with the same first line, found on the second page', async () => {
    const file = path.join(dir, 'diff.md');
    await writeFile(file, `${MARKER}\nnew diff\n`);
    const result = await comment(file);
    expect(result).toMatchObject({ code: 0, stdout: 'Updated comment 999 on pull request 7.\n' });
    expect(comments[120]).toEqual({ id: 999, body: `${MARKER}\nnew diff\n` });
    expect(requests).toEqual([
      'GET /repos/acme/app/issues/7/comments?per_page=100&page=1',
      'GET /repos/acme/app/issues/7/comments?per_page=100&page=2',
      'PATCH /repos/acme/app/issues/comments/999',
    ]);
  });

  it('refuses a body without a marker line, a missing token and a malformed pull request number', async () => {
    const plain = path.join(dir, 'plain.md');
    await writeFile(plain, 'no marker\n');
    const before = requests.length;
    expect((await comment(plain)).stderr).toContain('must start with a hidden marker line');
    const marked = path.join(dir, 'diff.md');
    const noToken = await comment(marked, { GITHUB_TOKEN: undefined });
    expect(noToken).toMatchObject({ code: 1, stderr: 'pr-comment: GITHUB_TOKEN is not set.\n' });
    const badPr = await comment(marked, { PR_NUMBER: '7/../../x' });
    expect(badPr.code).toBe(1);
    expect(badPr.stderr).toContain('PR_NUMBER must be a pull request number');
    expect(requests.length).toBe(before);
  });
});
