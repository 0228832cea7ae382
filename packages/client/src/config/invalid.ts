/** `invalid(message, suggestion)`: the `LAKEBASE_CONFIG_INVALID` error every config parser throws. */
import { LakebaseError } from '../errors.js';

export function invalid(message: string, suggestion: string, cause?: unknown): LakebaseError {
  return new LakebaseError('LAKEBASE_CONFIG_INVALID', message, { suggestion, cause });
}
