import type { Statement } from "./database.js";

/**
 * Sends events, in order, on the store's channel. Inside a transaction they reach listeners
 * only when it commits, and not at all when it rolls back.
 */
export function notifyStatement(
  schema: string,
  channel: string,
  events: readonly string[],
): Statement {
  return {
    name: `${schema}.notify`,
    text: "SELECT pg_notify($1::text, e) FROM unnest($2::text[]) WITH ORDINALITY AS t(e, ord) ORDER BY ord",
    values: [channel, events],
  };
}
