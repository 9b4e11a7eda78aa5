import type { Store } from "../store/store.js";

/**
 * Who may act on a session, besides admins: a list of token names, or `undefined` for every
 * reviewer.
 */
export type ReviewersOf = (sessionId: string) => Promise<readonly string[] | undefined>;

/** The audit kind `POST /api/runs` records the run request (and its `reviewers`) under. */
export const RUN_REQUESTED = "custom.run.requested";

/** How many audit entries are read to find a session's reviewers. */
const SCAN = 500;

/**
 * The default {@link ReviewersOf}: the `reviewers` of the latest `custom.run.requested` audit
 * entry among the session's first 500 (where `POST /api/runs` writes it, before the run
 * starts). The audit trail is shared by every process on the store, so every server agrees.
 */
export function reviewersFromAudit(store: Store): ReviewersOf {
  return async (sessionId) => {
    const page = await store.audit.list(sessionId, { limit: SCAN });
    let found: readonly string[] | undefined;
    for (const entry of page.items) {
      if (entry.kind !== RUN_REQUESTED) continue;
      const reviewers = (entry.data as { reviewers?: unknown } | undefined)?.reviewers;
      found = Array.isArray(reviewers)
        ? reviewers.filter((r): r is string => typeof r === "string")
        : undefined;
    }
    return found;
  };
}
