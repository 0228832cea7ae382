/** Every step of a healthy diagnose() run, in order: what the tests expect the report to list. */
export const ALL_STEPS = [
  'config',
  'auth',
  'target',
  'credential',
  'identity',
  'dns',
  'tcp',
  'tls',
  'login',
  'query',
  'privileges',
];
