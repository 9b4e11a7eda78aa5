import type { StoreEvent } from "../notifier.js";
import type { Statement } from "./database.js";

/**
 * Sends events, in order, on the store's channel. Inside a transaction they reach listeners
 * only when it commits, and not at all when it rolls back. The store's own listeners are not
 * told by it: the store publishes the same events to them once the transaction committed.
 */
export function notifyStatement(
  schema: string,
  channel: string,
  events: readonly StoreEvent[],
): Statement {
  return {
    name: `${schema}.notify`,
    text: "SELECT pg_notify($1::text, e) FROM unnest($2::text[]) WITH ORDINALITY AS t(e, ord) ORDER BY ord",
    values: [channel, events.map((event) => JSON.stringify(event))],
  };
}
