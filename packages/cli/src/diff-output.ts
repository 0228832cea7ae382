/**
 * How `lakebase branch diff` (and `migrate check`) print a schema diff: `diff -u`-like lines for a terminal, the same
 * in a Markdown comment for a pull request (with a hidden marker so a workflow finds and updates its one comment).
 */
import type { BranchDiff, SchemaChange } from '@lakebase-kit/client/toolkit';

/** The hidden first line of the pull-request comment; the workflow updates the comment that has it. */
export const PR_COMMENT_MARKER = '<!-- lakebase-schema-diff -->';

/** One line per side of a change: `-` what `base` has, `+` what `compare` has. */
function changeLines(change: SchemaChange): string[] {
  const label = `${change.kind} ${change.name}`;
  const lines: string[] = [];
  if (change.base !== undefined) lines.push(`- ${label}: ${oneLine(change.base)}`);
  if (change.compare !== undefined) lines.push(`+ ${label}: ${oneLine(change.compare)}`);
  return lines;
}

/** Definitions such as a function body span lines; a diff line shows them on one (JSON has them whole). */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** `4 changes: 2 added, 1 removed, 1 changed` (or `no schema changes`). */
export function summaryLine(diff: Pick<BranchDiff, 'changes' | 'rows'>): string {
  const count = (what: SchemaChange['change']) => diff.changes.filter((c) => c.change === what).length;
  const n = diff.changes.length;
  const schema =
    n === 0
      ? 'no schema changes'
      : `${n} change${n === 1 ? '' : 's'}: ${count('added')} added, ${count('removed')} removed, ${count('changed')} changed`;
  if (!diff.rows) return schema;
  return `${schema}; ${diff.rows.length} table${diff.rows.length === 1 ? '' : 's'} with other row counts`;
}

function bodyLines(diff: BranchDiff): string[] {
  const lines = diff.changes.flatMap(changeLines);
  for (const r of diff.rows ?? [])
    lines.push(`~ rows ${r.table}: ${r.base ?? 'no table'} -> ${r.compare ?? 'no table'}`);
  return lines;
}

/** The diff for a terminal or a pipe; colour only on a terminal that allows it. */
export function diffText(diff: BranchDiff, colour: boolean): string {
  const paint = (line: string) => {
    if (!colour) return line;
    if (line.startsWith('+')) return `\u001b[32m${line}\u001b[0m`;
    if (line.startsWith('-')) return `\u001b[31m${line}\u001b[0m`;
    return line;
  };
  const lines = [`--- ${diff.base}`, `+++ ${diff.compare}`, ...bodyLines(diff).map(paint), summaryLine(diff)];
  return `${lines.join('\n')}\n`;
}

/** The pull-request comment: marker, heading, summary, and the lines in a fence no definition can close. */
export function diffMarkdown(diff: BranchDiff): string {
  const lines = bodyLines(diff);
  const longest = Math.max(2, ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((run) => run.length))));
  const fence = '`'.repeat(longest + 1);
  const out = [
    PR_COMMENT_MARKER,
    `### Lakebase schema diff: \`${diff.compare}\` against \`${diff.base}\``,
    '',
    diff.equal ? 'No schema changes.' : `${summaryLine(diff)}.`,
  ];
  if (lines.length > 0) out.push('', `${fence}diff`, ...lines, fence);
  return `${out.join('\n')}\n`;
}
