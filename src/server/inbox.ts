import type { Page } from "../store/page.js";
import type { SessionQuery, SessionStore, SessionSummary } from "../store/session-store.js";

/** How many summaries one scan step reads. */
const STEP = 500;

/**
 * The review inbox: sessions waiting for approval first, then the rest, each part newest
 * first, one page at a time. The store lists newest first and can filter on an open gate; the
 * rest is read by skipping the waiting ones, so a page deep in a long inbox costs a read of
 * the sessions before it.
 */
export async function listInbox(
  sessions: SessionStore,
  query: SessionQuery & { readonly offset: number; readonly limit: number },
): Promise<Page<SessionSummary>> {
  const { offset, limit, ...filter } = query;
  if (
    filter.waiting === "approval" ||
    (filter.status !== undefined && filter.status !== "paused")
  ) {
    return sessions.list(query);
  }
  const waiting = await sessions.list({ ...filter, waiting: "approval", offset, limit });
  const all = await sessions.list({ ...filter, offset: 0, limit: 1 });
  const items = [...waiting.items];
  let skip = Math.max(0, offset - waiting.total);
  for (let at = 0; items.length < limit && at < all.total; at += STEP) {
    const page = await sessions.list({ ...filter, offset: at, limit: STEP });
    if (page.items.length === 0) break;
    for (const summary of page.items) {
      if (summary.gate !== undefined) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      items.push(summary);
      if (items.length === limit) break;
    }
  }
  return { items, total: all.total };
}
