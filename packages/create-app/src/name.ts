import path from 'node:path';
import { CreateAppError } from './errors.js';

/** npm's rules for a new package name (validate-npm-package-name's "validForNewPackages"), which the project gets. */
const NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const RESERVED = new Set(['node_modules', 'favicon.ico']);

export interface ProjectName {
  /** The package.json name. */
  packageName: string;
  /** The directory made for it, relative to where the command runs: the name without its scope. */
  directory: string;
}

/** Parses what the user typed as the project's name (a package name; the directory is its last part). */
export function parseProjectName(input: string): ProjectName {
  const name = input.trim();
  if (name === '') throw new CreateAppError('CREATE_APP_NAME_MISSING', 'The project needs a name.');
  const invalid = (why: string) =>
    new CreateAppError('CREATE_APP_NAME_INVALID', `"${name}" is not a valid npm package name: ${why}.`);
  if (name.length > 214) throw invalid('longer than 214 characters');
  if (name !== name.toLowerCase()) throw invalid('it has upper-case letters');
  if (RESERVED.has(name)) throw invalid('it is a reserved name');
  if (!NAME.test(name)) throw invalid('only lower-case letters, digits, "-", ".", "_" and "~" may be used');
  const directory = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  if (directory === '.' || directory === '..' || directory !== path.basename(directory)) {
    throw invalid('it does not name a directory');
  }
  return { packageName: name, directory };
}
