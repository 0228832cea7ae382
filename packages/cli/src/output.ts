/** Printing shared by every command: one-line errors with their stable code and the suggested fix. */
import { databaseErrorCode } from '@lakebase-kit/client';

interface CodedError {
  code?: unknown;
  message?: unknown;
  suggestion?: unknown;
}

/** The shape of every error the CLI prints: `error: <message> [CODE]`, then `fix: <suggestion>` when there is one. */
export function errorLines(message: string, code: string, suggestion?: string): string {
  return `error: ${message} [${code}]\n${suggestion ? `fix: ${suggestion}\n` : ''}`;
}

/** Prints an error in the shape of {@link errorLines} on stderr. */
export function printError(error: unknown): void {
  const { code, message, suggestion } = (typeof error === 'object' && error !== null ? error : {}) as CodedError;
  const text = (typeof message === 'string' && message ? message : String(error)).split('\n')[0] as string;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) {
    process.stderr.write(errorLines(text, code, typeof suggestion === 'string' ? suggestion : undefined));
    return;
  }
  // Errors from below the library (a PostgreSQL error, a socket error) get a code and a next step too.
  const fallback = classifyRawError(error);
  const raw = typeof code === 'string' ? ` (${code})` : '';
  process.stderr.write(errorLines(`${text}${raw}`, fallback.code, fallback.suggestion));
}

/** The library's code for an error from below it (PostgreSQL, a socket), and the next step. */
function classifyRawError(error: unknown): { code: string; suggestion: string } {
  const code = databaseErrorCode(error);
  if (code === 'LAKEBASE_DATABASE_NOT_FOUND') return { code, suggestion: 'Check LAKEBASE_DATABASE.' };
  if (code === 'LAKEBASE_QUERY_FAILED') return { code, suggestion: 'See the PostgreSQL message above.' };
  if (code === 'LAKEBASE_UNEXPECTED_ERROR') {
    return { code, suggestion: 'Run `lakebase doctor`; if it passes, please report this.' };
  }
  return { code, suggestion: 'Run `lakebase doctor` to see which step fails and how to fix it.' };
}

/** Prints a value as exactly one JSON line on stdout (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
