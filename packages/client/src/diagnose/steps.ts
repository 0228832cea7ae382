/**
 * What a diagnosis reports: the step names and the shape of each step and of the whole report. Its own file so the
 * walk (index.ts), the per-user walk and the step timeout share the types without importing each other.
 */
import type { LakebaseConfig } from '../config/resolve.js';
import type { LakebaseErrorCode } from '../errors.js';

export type DiagnosticStepName =
  | 'config'
  | 'auth'
  | 'target'
  | 'credential'
  | 'identity'
  | 'dns'
  | 'tcp'
  | 'tls'
  | 'login'
  | 'query'
  | 'privileges'
  // per-user mode (diagnoseUser)
  | 'user-scope'
  | 'user-role'
  | 'row-security';

export interface DiagnosticStep {
  name: DiagnosticStepName;
  ok: boolean;
  /** Duration in ms. */
  ms: number;
  /** What was found (on success) or what went wrong. */
  detail: string;
  /** What to do about a failure. */
  suggestion?: string;
  /** The {@link LakebaseError} code of a failure (or of a warning). */
  code?: LakebaseErrorCode;
  /** Something that passed but looks wrong (e.g. PGUSER is not the token's identity). */
  warning?: string;
}

export interface DiagnosisReport {
  ok: boolean;
  mode: LakebaseConfig['mode'] | undefined;
  steps: DiagnosticStep[];
}
