/** Printing shared by every command: one-line errors with their stable code and the suggested fix. */

interface CodedError {
  code?: unknown;
  message?: unknown;
  suggestion?: unknown;
}

/** Prints `error: <message> [CODE]` and, when the error carries one, `fix: <suggestion>` on stderr. */
export function printError(error: unknown): void {
  const { code, message, suggestion } = (typeof error === 'object' && error !== null ? error : {}) as CodedError;
  const text = typeof message === 'string' && message ? message : String(error);
  const codeText = typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? ` [${code}]` : '';
  process.stderr.write(`error: ${text.split('\n')[0]}${codeText}\n`);
  if (typeof suggestion === 'string' && suggestion) process.stderr.write(`fix: ${suggestion}\n`);
}

/** Prints a value as exactly one JSON line on stdout (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
