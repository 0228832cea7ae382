import { type DiagnosisReport, type DiagnosticStep, diagnose, LakebaseError } from '@lakebase-kit/client';
import { diagnoseUser } from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandEnv } from '../context.js';
import { printJson } from '../output.js';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check config -> workspace auth -> instance state -> token -> identity -> DNS -> TCP -> TLS -> login -> query -> ' +
        'table privileges, and say how to fix the first step that fails.',
    )
    .option('--schema <name>', 'schema whose tables the connecting role must read and write (default: public)')
    .option('--branch <name>', 'use this branch of the project (as LAKEBASE_BRANCH does)')
    .option(
      '--as-user',
      "per-user mode: with the user's OAuth token in LAKEBASE_USER_TOKEN, check its postgres scope, the user's role, " +
        'and that row-level security guards every table of the schema the user can read',
    )
    .option('--json', 'print the report as one JSON line (steps with name, ok, ms, detail, suggestion, code)')
    .addHelpText(
      'after',
      `
Examples:
  $ lakebase doctor
  $ lakebase doctor --json | jq '.steps[] | select(.ok == false)'
  $ LAKEBASE_USER_TOKEN=<a user's token> lakebase doctor --as-user`,
    )
    .action(async (flags: { json?: boolean; schema?: string; asUser?: boolean }) => {
      const options = { env: await commandEnv(), ...(flags.schema ? { schema: flags.schema } : {}) };
      const report = flags.asUser ? await diagnoseUser(options) : await diagnose(options);
      if (flags.json) printJson(report);
      else printSteps(report);
      const failed = report.steps.find((s) => !s.ok);
      if (failed) throw stepFailure(failed);
    });
}

/** One line per step: a tick or a cross, the step, its time and what it found. */
export function printSteps(report: DiagnosisReport): void {
  const width = Math.max(...report.steps.map((s) => s.name.length));
  for (const step of report.steps) {
    const mark = step.ok ? (step.warning ? '!' : '✓') : '✗';
    const ms = `${step.ms.toFixed(1)} ms`.padStart(10);
    process.stdout.write(`${mark} ${step.name.padEnd(width)} ${ms}  ${step.detail}\n`);
    if (step.warning) {
      process.stdout.write(`  warning: ${step.warning}${step.code ? ` [${step.code}]` : ''}\n`);
      if (step.suggestion) process.stdout.write(`  fix: ${step.suggestion}\n`);
    }
  }
  if (report.ok) process.stdout.write('All checks passed.\n');
}

/** The failing step as an error: its code and fix, and the step's name first so it is easy to spot. */
export function stepFailure(step: DiagnosticStep, note?: string): LakebaseError {
  return new LakebaseError(
    step.code ?? 'LAKEBASE_CONNECT_FAILED',
    `${step.name} step failed: ${step.detail}${note ? ` (${note})` : ''}`,
    { suggestion: step.suggestion ?? 'Run `lakebase doctor` for details.' },
  );
}
