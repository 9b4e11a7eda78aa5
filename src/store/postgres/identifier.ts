/** Quotes a name for SQL: `"name"`, with inner quotes doubled. Every name the store uses is quoted. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The channel the store's notifications travel on: one per schema. */
export function channelOf(schema: string): string {
  return `${schema}_events`;
}

/**
 * The first key of the store's advisory locks (`pg_advisory_xact_lock(key, hashtext(schema))`),
 * so they do not meet an application's own one-key locks: "Trel" in ASCII.
 */
export const LOCK_CLASS = 0x5472_656c;
/** The second key's offsets: one lock per purpose and schema. */
export const LOCK_MIGRATE = 0;
export const LOCK_ACTIVE_SESSIONS = 1;
