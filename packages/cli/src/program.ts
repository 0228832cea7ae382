import { Command, CommanderError } from 'commander';
import { registerBranchCommand } from './commands/branch.js';
import { registerCheckoutCommand } from './commands/checkout.js';
import { registerConfigureCommand } from './commands/configure.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerEmulatorCommand } from './commands/emulator.js';
import { registerEndpointCommand } from './commands/endpoint.js';
import { registerExecCommands } from './commands/exec.js';
import { registerGrantCommand } from './commands/grant.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerProxyCommand } from './commands/proxy.js';
import { registerRoleCommand } from './commands/role.js';
import { registerTablesCommand } from './commands/tables.js';
import { registerTokenCommand } from './commands/token.js';
import { selectBranch } from './context.js';
import { errorLines, printError } from './output.js';

/** Builds the `lakebase` program. Each command lives in its own file under commands/ and only parses and prints. */
export function buildProgram(): Command {
  const program = new Command('lakebase')
    .description('Lakebase (Databricks managed PostgreSQL) from the command line: connect, migrate, diagnose, emulate.')
    .version('0.1.0')
    .enablePositionalOptions()
    .exitOverride();
  registerConfigureCommand(program);
  registerDoctorCommand(program);
  registerTokenCommand(program);
  registerExecCommands(program);
  registerMigrateCommand(program);
  registerTablesCommand(program);
  registerGrantCommand(program);
  registerEmulatorCommand(program);
  registerBranchCommand(program);
  registerCheckoutCommand(program);
  registerProxyCommand(program);
  registerRoleCommand(program);
  registerEndpointCommand(program);
  // `--branch NAME` on a database command selects that branch of the project (as LAKEBASE_BRANCH does).
  program.hook('preAction', (_program, action) => selectBranch(action.opts().branch));
  reportUsageErrors(program, 'lakebase');
  return program;
}

/**
 * Commander's own errors (a missing option, a malformed value, an unknown command) in the same one-line shape as every
 * other error, with the command's `--help` as the fix, instead of the whole help text.
 */
function reportUsageErrors(command: Command, path: string): void {
  command.configureOutput({
    outputError: (text, write) => {
      const message = text
        .replace(/^error: /, '')
        .replace(/\s*\n\s*/g, ' ')
        .trim();
      write(errorLines(message, 'LAKEBASE_USAGE_ERROR', `Run \`${path} --help\` for its options and an example.`));
    },
  });
  for (const sub of command.commands) reportUsageErrors(sub, `${path} ${sub.name()}`);
}

/** Runs the program and returns the process exit code; errors are printed as one line with their code and fix. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // `exec` and `psql` hand back their child's exit code this way.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0; commander has already printed its message.
      return error.exitCode;
    }
    printError(error);
    return 1;
  }
}
