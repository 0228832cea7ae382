import type { StateDocument } from './state.js';

/** Settings resolved from {@link WorkspaceOptions} with defaults applied. */
export interface ResolvedSettings {
  pgHost: string;
  userName: string;
  instanceName: string;
  projectId: string;
  databases: string[];
  instanceStartMs: number;
  operationDelayMs: number;
}

/** What the resource models share: the state document, the clock and a way to persist. */
export interface ModelContext {
  readonly state: StateDocument;
  readonly settings: ResolvedSettings;
  now(): number;
  /** Saves the state document (call after every mutation). */
  persist(): void;
}

/** Instance states an operator (or a test) can force with `Workspace.setInstanceState`. */
export type ForcedInstanceState = 'AVAILABLE' | 'STARTING' | 'STOPPED';

/** RFC 3339 with milliseconds, the form `Date#toISOString` gives. */
export const rfc3339 = (ms: number) => new Date(ms).toISOString();
