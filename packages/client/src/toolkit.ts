/**
 * `@lakebase-kit/client/toolkit`: what the `lakebase` CLI, the app template and the emulator share with the client,
 * and nothing an application needs (that is the root entry, `index.ts`). Each piece of knowledge used by several
 * packages has its one home here. Documented in docs/toolkit.md; a narrower semver promise than the root entry.
 */

// -- CLI and app helpers moved off the root entry (surface) --

// -- one home per piece of knowledge: quoting, atomic write, deadline, connection failures, env (knowledge) --
export { writeFileAtomic, writeFileAtomicSync } from './config/atomic-write.js';
export { type EnvReader, envReader, parseBoolean, parseChoice } from './config/env-reader.js';
export { INSTANCE_NAME_PATTERN, isInstanceName, RESOURCE_ID_PATTERN } from './config/names.js';
export {
  type ConnectionFailure,
  type ConnectionFailureKind,
  classifyConnectionFailure,
  connectionFailureOf,
} from './connection/connection-failures.js';
// -- errors: the registry of codes (errors) --
export {
  ERROR_CODES,
  type ErrorCode,
  type ErrorCodeInfo,
  errorCodeInfo,
  type HttpAnswer,
  RELAYED_LIBRARY_ERROR,
} from './error-codes.js';
export { quoteIdent, quoteLiteral, SqlTextError, shellQuote } from './sql/quote.js';
export { settlesWithin, withDeadline } from './time.js';
