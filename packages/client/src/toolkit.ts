/**
 * `@lakebase-kit/client/toolkit`: what the `lakebase` CLI, the app template and the emulator share with the client,
 * and nothing an application needs (that is the root entry, `index.ts`). Each piece of knowledge used by several
 * packages has its one home here. Documented in docs/toolkit.md; a narrower semver promise than the root entry.
 */

// -- CLI and app helpers moved off the root entry (surface) --

// -- errors: the registry of codes (errors) --
export {
  ERROR_CODES,
  type ErrorCode,
  type ErrorCodeInfo,
  errorCodeInfo,
  type HttpAnswer,
  RELAYED_LIBRARY_ERROR,
} from './error-codes.js';

// -- one home per piece of knowledge: quoting, atomic write, deadline, connection failures, env (knowledge) --

export {};
