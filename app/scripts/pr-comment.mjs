#!/usr/bin/env node
/**
 * Posts a file as one pull-request comment, updated in place on each push instead of added again: the comment is
 * found by the file's first line, a hidden HTML comment (`lakebase branch diff --markdown` starts with
 * `<!-- lakebase-schema-diff -->`). Used by .github/workflows/pr-branch.yml after the schema diff step.
 *
 *   node scripts/pr-comment.mjs schema-diff.md
 *
 * Environment: GITHUB_TOKEN (needs `pull-requests: write`), GITHUB_REPOSITORY (`owner/repo`), PR_NUMBER, and
 * GITHUB_API_URL (GitHub Actions sets it; default https://api.github.com). Each request is bounded by 15 s.
 */
import { readFile } from 'node:fs/promises';

const TIMEOUT_MS = 15_000;
/** Comments read to find ours: 10 pages of 100. */
const MAX_PAGES = 10;

function fail(message) {
  process.stderr.write(`pr-comment: ${message}\n`);
  process.exit(1);
}

const [file] = process.argv.slice(2);
if (!file) fail('usage: node scripts/pr-comment.mjs <body-file>');
const { GITHUB_TOKEN: token, GITHUB_REPOSITORY: repository, PR_NUMBER: pr } = process.env;
const api = (process.env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
if (!token) fail('GITHUB_TOKEN is not set.');
if (!/^[\w.-]+\/[\w.-]+$/.test(repository ?? ''))
  fail(`GITHUB_REPOSITORY must be owner/repo, got '${repository ?? ''}'.`);
if (!/^[1-9]\d{0,9}$/.test(pr ?? '')) fail(`PR_NUMBER must be a pull request number, got '${pr ?? ''}'.`);

const body = await readFile(file, 'utf8');
const marker = body.split('\n', 1)[0].trim();
if (!/^<!--[\s\S]*-->$/.test(marker))
  fail(`${file} must start with a hidden marker line such as <!-- lakebase-schema-diff -->.`);

async function github(method, path, payload) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${token}`,
      'x-github-api-version': '2022-11-28',
      ...(payload ? { 'content-type': 'application/json' } : {}),
    },
    ...(payload ? { body: JSON.stringify(payload) } : {}),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!response.ok) fail(`${method} ${path}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  return response.json();
}

let existing;
for (let page = 1; page <= MAX_PAGES && !existing; page++) {
  const comments = await github('GET', `/repos/${repository}/issues/${pr}/comments?per_page=100&page=${page}`);
  existing = comments.find((c) => typeof c.body === 'string' && c.body.split('\n', 1)[0].trim() === marker);
  if (comments.length < 100) break;
}
if (existing) {
  await github('PATCH', `/repos/${repository}/issues/comments/${existing.id}`, { body });
  process.stdout.write(`Updated comment ${existing.id} on pull request ${pr}.\n`);
} else {
  const created = await github('POST', `/repos/${repository}/issues/${pr}/comments`, { body });
  process.stdout.write(`Created comment ${created.id} on pull request ${pr}.\n`);
}
