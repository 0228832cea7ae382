import { expect } from 'vitest';
import { LakebaseError } from '../../src/index.js';

/** Runs `fn`, expects it to throw a LakebaseError, and returns it for assertions on code and suggestion. */
export function thrownLakebaseError(fn: () => unknown): LakebaseError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LakebaseError);
    return error as LakebaseError;
  }
  throw new Error('expected a LakebaseError');
}
