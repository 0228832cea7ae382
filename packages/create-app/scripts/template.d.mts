// Types for template.mjs (a plain script, so `prepack` runs it without a build), for the tests that import it.
export const PACKAGE_DIR: string;
export const ROOT: string;
export const APP_DIR: string;
export const COMMON_DIR: string;
export const API_ONLY_DIR: string;
export const OUTPUT_DIR: string;
export const APP_DIRS: string[];
export const APP_FILES: string[];
export const DERIVED_FILES: string[];
export function EXCLUDED(name: string): boolean;
export interface BuildContext {
  versions: Record<string, string>;
  vitest: string;
  allowScripts: Record<string, boolean>;
}
export function deniedScripts(): Promise<Record<string, boolean>>;
export function kitVersions(): Promise<Record<string, string>>;
export function listFiles(dir: string, prefix?: string): Promise<string[]>;
export function copiedAppFiles(): Promise<string[]>;
export function isLocalSpec(spec: string): boolean;
export function pinDependencies(
  deps: Record<string, string> | undefined,
  versions: Record<string, string>,
): Record<string, string>;
export function projectManifest(app: Record<string, unknown>, context: BuildContext): Record<string, unknown>;
export function deriveAppFile(file: string, context: BuildContext): Promise<string>;
export function commonFiles(): Promise<Record<string, string>>;
export function buildContext(): Promise<BuildContext>;
export const README_REWRITES: Array<[string, string]>;
