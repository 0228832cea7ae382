/**
 * `lakebase configure` asks "Which one? [1-n]" when several resources match. The answer goes through the client's
 * one number parser: `0x1`, `1e0`, `+1`, ` 01` or `1.0` is not item 1 (with `Number(answer)` each was), and a number
 * outside 1..n is no choice at all.
 */
import { describe, expect, it } from 'vitest';
import { menuChoice } from '../src/commands/configure.js';

describe('the configure menu answer', () => {
  it('takes a decimal item number in 1..n, spaces around it ignored', () => {
    expect(menuChoice('1', 3)).toBe(1);
    expect(menuChoice(' 3 ', 3)).toBe(3);
  });

  it.each(['0x1', '1e0', '+1', '01', '1.0', '0b1', '', ' ', '0', '4', '-1', 'one', '١'])(
    '%j is no choice',
    (answer) => {
      expect(menuChoice(answer, 3)).toBeUndefined();
    },
  );
});
