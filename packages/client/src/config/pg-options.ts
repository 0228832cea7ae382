/**
 * libpq's `PGOPTIONS`: startup options (`-c name=value ...`) that pg itself reads from the environment for every
 * connection that sets no `options` of its own. A connection that must add an option of ours (the read pool's
 * read-only fallback sessions) reads it here, so the user's options still apply.
 */
export function pgOptionsFromEnv(env: Record<string, string | undefined> = process.env): string | undefined {
  const options = env.PGOPTIONS?.trim();
  return options ? options : undefined;
}
