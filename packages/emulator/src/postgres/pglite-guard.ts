import { pgWire } from '@lakebase-kit/client/toolkit';

const { message, readCString } = pgWire;

// Statements that change the session's user. On PGlite the backend's authenticated user is its bootstrap superuser,
// so PostgreSQL's own check ("only a superuser may SET SESSION AUTHORIZATION") lets every session through; on a
// real server, and on Lakebase, an app role is refused.
const SET_AUTHORIZATION =
  /\b(?:set|reset)\b[\s\S]*\bsession\s+authorization\b|\bset_config\s*\(\s*'session_authorization'/i;

const REFUSAL =
  "DO $lakebase$BEGIN RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'permission denied to set session authorization'; END$lakebase$";

/**
 * Replaces a Query or Parse message whose SQL changes the session authorization with one that fails in PGlite with
 * 42501, as PostgreSQL answers a non-superuser; PGlite then produces the error, the aborted transaction and the
 * ReadyForQuery itself. `SET ROLE` needs no guard: PostgreSQL checks it against the session user, the app role.
 * A statement that builds the command dynamically (EXECUTE of a concatenated string) is not caught: PGlite storage is
 * not a security boundary (see the README).
 */
export function guardAuthorization(type: string, msg: Buffer): Buffer {
  if (type === 'Q') {
    const sql = readCString(msg, 5);
    return SET_AUTHORIZATION.test(sql) ? message('Q', Buffer.from(`${REFUSAL}\0`, 'utf8')) : msg;
  }
  if (type === 'P') {
    const nameEnd = msg.indexOf(0, 5);
    const sqlEnd = msg.indexOf(0, nameEnd + 1);
    const sql = msg.toString('utf8', nameEnd + 1, sqlEnd);
    if (!SET_AUTHORIZATION.test(sql)) return msg;
    return message('P', msg.subarray(5, nameEnd + 1), Buffer.from(`${REFUSAL}\0`, 'utf8'), msg.subarray(sqlEnd + 1));
  }
  return msg;
}
