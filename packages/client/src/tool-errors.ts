/**
 * Error codes of the tooling modules (discovery, migrations, env files) that the core {@link LakebaseErrorCode} union
 * does not list yet. They are raised as ordinary {@link LakebaseError}s so callers handle one class.
 */
import { LakebaseError, type LakebaseErrorCode, type LakebaseErrorOptions } from './errors.js';

export type ToolErrorCode =
  /** Several Lakebase resources match and nothing says which one to use. */
  | 'LAKEBASE_RESOURCE_AMBIGUOUS'
  /** A migration failed to apply or revert (the error names the file and line). */
  | 'LAKEBASE_MIGRATION_FAILED'
  /** A required executable (e.g. `psql`) is not installed. */
  | 'LAKEBASE_COMMAND_NOT_FOUND';

/** A {@link LakebaseError} with a tooling code or a core one. */
export function toolError(
  code: ToolErrorCode | LakebaseErrorCode,
  message: string,
  options: LakebaseErrorOptions = {},
): LakebaseError {
  // The cast widens the core union until these codes are added to it (errors.ts is owned by the core library).
  return new LakebaseError(code as LakebaseErrorCode, message, options);
}
