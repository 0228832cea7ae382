import { CreateAppError } from './errors.js';

export const TEMPLATES = {
  app: 'Fastify API + React UI with per-user preferences, migrations, tests and Databricks Apps deploy files',
  'api-only': 'a Fastify API on the Lakebase pool: one route, one migration, one test',
} as const;
export type TemplateName = keyof typeof TEMPLATES;

export interface Options {
  name: string | undefined;
  template: TemplateName;
  install: boolean;
  git: boolean;
  yes: boolean;
  help: boolean;
}

/** Parses the command line once into typed options; anything unknown is refused rather than ignored. */
export function parseArgs(argv: readonly string[]): Options {
  const options: Options = { name: undefined, template: 'app', install: true, git: true, yes: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    switch (flag) {
      case '--no-install':
        options.install = false;
        break;
      case '--no-git':
        options.git = false;
        break;
      case '--yes':
      case '-y':
        options.yes = true;
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      case '--template':
      case '-t': {
        const value = inline ?? argv[++i];
        if (value === undefined || value.startsWith('-')) {
          throw new CreateAppError('CREATE_APP_USAGE', '--template needs a name (app or api-only).');
        }
        if (!Object.hasOwn(TEMPLATES, value)) {
          throw new CreateAppError('CREATE_APP_TEMPLATE_UNKNOWN', `There is no template called "${value}".`);
        }
        options.template = value as TemplateName;
        break;
      }
      default:
        if (arg.startsWith('-')) throw new CreateAppError('CREATE_APP_USAGE', `Unknown option ${arg}.`);
        if (options.name !== undefined) {
          throw new CreateAppError('CREATE_APP_USAGE', `One project name only (got "${options.name}" and "${arg}").`);
        }
        options.name = arg;
    }
  }
  return options;
}

export const HELP = `Usage: npm create @lakebase-kit/app@latest [name] -- [options]
       create-lakebase-app [name] [options]

Makes the directory <name> with a new Lakebase app, then (unless told not to) runs git init and npm install.

Options:
  --template <name>  ${Object.entries(TEMPLATES)
    .map(([name, what]) => `${name}: ${what}`)
    .join('\n                     ')}
                     (default: app)
  --no-install       do not run npm install
  --no-git           do not run git init and make the first commit
  --yes, -y          ask nothing: take the defaults (a name is then required)
  --help, -h         show this help

Then: cd <name> && npm install && npm start   (the app on an embedded local Lakebase, no account needed)
      npm test
`;
