/** Printing shared by every command: one-line errors with their stable code and the suggested fix. */

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
  const fallback = classifyRawError(code);
  const raw = typeof code === 'string' ? ` (${code})` : '';
  process.stderr.write(errorLines(`${text}${raw}`, fallback.code, fallback.suggestion));
}

/** SQLSTATEs and socket error codes mapped to the library's codes. */
function classifyRawError(code: unknown): { code: string; suggestion: string } {
  const doctor = 'Run `lakebase doctor` to see which step fails and how to fix it.';
  if (code === '28P01') return { code: 'LAKEBASE_LOGIN_FAILED', suggestion: doctor };
  if (code === '28000') return { code: 'LAKEBASE_ROLE_NOT_FOUND', suggestion: doctor };
  if (code === '3D000') return { code: 'LAKEBASE_DATABASE_NOT_FOUND', suggestion: 'Check LAKEBASE_DATABASE.' };
  if (typeof code === 'string' && /^(E[A-Z]+|ERR_TLS\w*|CERT_\w+|DEPTH_ZERO\w*|SELF_SIGNED\w*)$/.test(code)) {
    return { code: 'LAKEBASE_CONNECT_FAILED', suggestion: doctor };
  }
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return { code: 'LAKEBASE_QUERY_FAILED', suggestion: 'See the PostgreSQL message above.' };
  }
  return { code: 'LAKEBASE_UNEXPECTED_ERROR', suggestion: 'Run `lakebase doctor`; if it passes, please report this.' };
}

/** Prints a value as exactly one JSON line on stdout (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
