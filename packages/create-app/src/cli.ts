import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { HELP, type Options, parseArgs } from './args.js';
import { CreateAppError } from './errors.js';
import { type ProjectName, parseProjectName } from './name.js';
import { type RunResult, run, stopCurrentChild } from './run.js';
import { checkTarget, moveIntoPlace, removeStaging, stagingDir, writeProject } from './scaffold.js';

const INSTALL_TIMEOUT_MS = 15 * 60_000;
const GIT_TIMEOUT_MS = 60_000;

interface Io {
  cwd: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const defaultIo = (): Io => ({
  cwd: process.cwd(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

/** The command: returns the exit code (0 made, 1 refused or failed, 130 interrupted). */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  try {
    const options = parseArgs(argv);
    if (options.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const name = parseProjectName(options.name ?? (await askName(options, io)));
    await create(options, name, io);
    return 0;
  } catch (error) {
    if (error instanceof CreateAppError) {
      io.stderr.write(`error: ${error.message} [${error.code}]\n  ${error.suggestion}\n`);
      return error.code === 'CREATE_APP_INTERRUPTED' ? 130 : 1;
    }
    throw error;
  }
}

/** At a terminal, without --yes, the name can be typed; anywhere else it must be given. */
async function askName(options: Options, io: Io): Promise<string> {
  if (options.yes || !io.stdin.isTTY) {
    throw new CreateAppError('CREATE_APP_NAME_MISSING', 'No project name given.');
  }
  const rl = createInterface({ input: io.stdin, output: io.stdout });
  try {
    const answer = await rl.question('Project name (my-lakebase-app): ');
    return answer.trim() === '' ? 'my-lakebase-app' : answer;
  } finally {
    rl.close();
  }
}

async function create(options: Options, name: ProjectName, io: Io): Promise<void> {
  const target = path.resolve(io.cwd, name.directory);
  await checkTarget(target);
  const staging = stagingDir(target);
  let interrupted = false;
  // Ctrl-C (or SIGTERM) half way: stop the child, then the catch below removes the staging directory.
  const onSignal = () => {
    interrupted = true;
    stopCurrentChild();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const step = async (what: string, result: Promise<RunResult>) => {
    const outcome = await result;
    if (interrupted) throw new CreateAppError('CREATE_APP_INTERRUPTED', `Interrupted during ${what}.`);
    if (outcome.code !== 0) {
      const why = outcome.timedOut ? 'timed out' : `exited with ${outcome.code ?? outcome.signal}`;
      throw new CreateAppError(
        'CREATE_APP_STEP_FAILED',
        `${what} ${why}.${outcome.output ? `\n${outcome.output.trim()}` : ''}`,
      );
    }
  };
  try {
    io.stdout.write(`Creating ${name.packageName} (template ${options.template}) in ${target}\n`);
    await writeProject(options.template, staging, name);
    if (interrupted) throw new CreateAppError('CREATE_APP_INTERRUPTED', 'Interrupted while copying the template.');
    if (options.install) {
      io.stdout.write('Installing dependencies (npm install)...\n');
      await step(
        'npm install',
        run('npm', ['install', '--no-fund', '--no-audit'], {
          cwd: staging,
          timeoutMs: INSTALL_TIMEOUT_MS,
          inherit: true,
        }),
      );
    }
    if (options.git) await initGit(staging, io, step);
    await moveIntoPlace(staging, target);
  } catch (error) {
    await removeStaging(staging);
    if (interrupted && !(error instanceof CreateAppError && error.code === 'CREATE_APP_INTERRUPTED')) {
      throw new CreateAppError('CREATE_APP_INTERRUPTED', 'Interrupted.', { cause: error });
    }
    if (error instanceof CreateAppError) throw error;
    // e.g. no write access beside the target, a full disk: said as one coded line, not a stack trace.
    throw new CreateAppError('CREATE_APP_STEP_FAILED', `Writing the project failed: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const cd = path.relative(io.cwd, target) || '.';
  io.stdout.write(
    `\nDone. Next:\n  cd ${cd}\n${options.install ? '' : '  npm install\n'}  npm start     # the app on an embedded local Lakebase: no account needed\n  npm test\n`,
  );
}

/** git init and a first commit, when git is there; without a configured identity the commit is made as the kit. */
async function initGit(
  dir: string,
  io: Io,
  step: (what: string, result: Promise<RunResult>) => Promise<void>,
): Promise<void> {
  const git = (args: string[]) => run('git', args, { cwd: dir, timeoutMs: GIT_TIMEOUT_MS });
  const version = await git(['--version']);
  if (version.code !== 0) {
    io.stdout.write('git not found: skipping git init.\n');
    return;
  }
  await step('git init', git(['init', '--quiet']));
  await step('git add', git(['add', '--all']));
  const identity =
    (await git(['config', 'user.email'])).code === 0
      ? []
      : ['-c', 'user.name=create-lakebase-app', '-c', 'user.email=create-lakebase-app@localhost'];
  await step(
    'git commit',
    git([...identity, 'commit', '--quiet', '--no-verify', '-m', 'Initial commit from @lakebase-kit/create-app']),
  );
}
