import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CREATE_APP_ERRORS } from '../src/errors.js';

/** The codes in the first column of the README's table of errors. */
function documentedCodes(): string[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  return [...readme.matchAll(/^\| `(CREATE_APP_[A-Z_]+)` \|/gm)].map((match) => match[1] as string);
}

describe('create-app error codes', () => {
  it('every code the command can raise is in the README table, and the table names no other', () => {
    expect(documentedCodes().sort()).toEqual(Object.keys(CREATE_APP_ERRORS).sort());
  });

  it('every code has a suggestion that says what to do', () => {
    for (const [code, suggestion] of Object.entries(CREATE_APP_ERRORS)) {
      expect(suggestion.length, code).toBeGreaterThan(20);
    }
  });
});
