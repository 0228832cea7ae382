/** branchIdFrom: the documented mapping from free text (a git branch) to a Lakebase branch id. */
import { describe, expect, it } from 'vitest';
import { BRANCH_ID_PATTERN, branchIdFrom } from '../src/toolkit.js';

describe('branchIdFrom', () => {
  it.each([
    ['feature/Add_Login', 'feature-add-login'],
    ['main', 'main'],
    ['Fix--double__sep', 'fix-double-sep'],
    ['-leading/and/trailing-', 'leading-and-trailing'],
    ['123-hotfix', 'git-123-hotfix'],
    ['dependabot/npm_and_yarn/pg-8.13.1', 'dependabot-npm-and-yarn-pg-8-13-1'],
    ['ünïcode/branch', 'n-code-branch'],
  ])('%s -> %s', (text, id) => {
    expect(branchIdFrom(text)).toBe(id);
  });

  it('an overlong name keeps 54 characters and a hash of the whole name: deterministic and distinct', () => {
    const a = `feature/${'x'.repeat(80)}-a`;
    const b = `feature/${'x'.repeat(80)}-b`;
    const idA = branchIdFrom(a);
    expect(idA).toHaveLength(63);
    expect(idA).toMatch(/^feature-x{46}-[0-9a-f]{8}$/);
    expect(BRANCH_ID_PATTERN.test(idA)).toBe(true);
    expect(branchIdFrom(a)).toBe(idA);
    expect(branchIdFrom(b)).not.toBe(idA);
    // A cut that ends on '-' drops it before the hash.
    expect(branchIdFrom(`${'a'.repeat(53)}/${'b'.repeat(20)}`)).toMatch(/^a{53}-[0-9a-f]{8}$/);
  });

  it('text with no letter or digit is LAKEBASE_CONFIG_INVALID', () => {
    expect(() => branchIdFrom('__/--', 'git branch')).toThrow(
      expect.objectContaining({ code: 'LAKEBASE_CONFIG_INVALID' }),
    );
  });
});
