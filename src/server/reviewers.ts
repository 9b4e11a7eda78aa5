import type { AuditEntry } from "../store/audit-store.js";
import type { Store } from "../store/store.js";

/**
 * Who may act on a session, besides admins: a list of token names, or `undefined` for every
 * reviewer.
 */
export type ReviewersOf = (sessionId: string) => Promise<readonly string[] | undefined>;

/** The audit kind `POST /api/runs` records the run request (and its `reviewers`) under. */
export const RUN_REQUESTED = "custom.run.requested";

/** The audit kind a session's deletion appends: the trail before it is of the deleted session. */
const SESSION_DELETED = "session.deleted";

/** How many audit entries are read per query while looking for a session's run request. */
const SCAN = 500;

/**
 * The default {@link ReviewersOf}: the `reviewers` of the session's latest `custom.run.requested`
 * audit entry (where `POST /api/runs` writes it, before the run starts), read from the newest
 * entry back. The audit trail is shared by every process on the store, so every server agrees.
 *
 * It fails closed: when the session has no run request left but retention pruned the start of
 * its trail (its oldest entry's `seq` is past 1, or a session that ran has no entry at all),
 * the request may have been among what was pruned, and only admins may act (`[]`). A session
 * with no run request in a whole trail was not started through the server, and every reviewer
 * may act on it. Neither does anything before the session's latest `session.deleted`: a session
 * created again under a deleted one's id starts with a trail of its own (the deletion keeps
 * the old trail), so its run request, if it has one, comes after that entry.
 */
export function reviewersFromAudit(store: Store): ReviewersOf {
  return async (sessionId) => {
    // The oldest page first: it says how many entries there are, and holds them all when they
    // fit in one page (most trails), so the check takes one query.
    const first = await store.audit.list(sessionId, { limit: SCAN });
    for (let end = first.total; end > 0; ) {
      const offset = Math.max(0, end - SCAN);
      const items =
        offset === 0
          ? first.items.slice(0, end)
          : (await store.audit.list(sessionId, { offset, limit: end - offset })).items;
      for (let i = items.length - 1; i >= 0; i--) {
        const kind = items[i]!.kind;
        if (kind === RUN_REQUESTED) return reviewersIn(items[i]!);
        // What came before belongs to the session deleted under the same id.
        if (kind === SESSION_DELETED) return undefined;
      }
      end = offset;
    }
    // Read last, so a prune that ran during the scan (and may have shifted the pages) is seen.
    const [oldest] = (await store.audit.list(sessionId, { limit: 1 })).items;
    if (oldest !== undefined) return oldest.seq > 1 ? [] : undefined;
    // No entry at all: every run writes some, so a session that ran lost them all to retention.
    return (await store.sessions.get(sessionId)) === undefined ? undefined : [];
  };
}

function reviewersIn(entry: AuditEntry): readonly string[] | undefined {
  const reviewers = (entry.data as { reviewers?: unknown } | undefined)?.reviewers;
  return Array.isArray(reviewers)
    ? reviewers.filter((r): r is string => typeof r === "string")
    : undefined;
}
