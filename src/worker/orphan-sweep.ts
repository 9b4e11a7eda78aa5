import { randomUUID } from "node:crypto";
import type { AnyAgent } from "../run/define-agents.js";
import { agentOf } from "../run/dispatcher.js";
import type { Store } from "../store/store.js";

/** A session the sweep found with a running status and nobody holding its lease. */
export interface Orphan {
  readonly sessionId: string;
  readonly agent: string;
}

/**
 * Finds sessions whose run died: their latest checkpoint says `running`, and their lease is
 * free (it expired, or its holder's connection is gone). Each is checked by taking its lease for
 * a moment and reading its status again while holding it, so a run that just ended or a session
 * that another process runs is never reported. Sessions in `skip` (this worker's own) and those
 * of graphs no agent runs are left alone. Looks at up to `limit` running sessions a sweep.
 */
export async function findOrphans(options: {
  readonly store: Store;
  readonly agents: Readonly<Record<string, AnyAgent>>;
  readonly owner: string;
  readonly skip: ReadonlySet<string>;
  readonly limit: number;
  readonly now: () => number;
}): Promise<Orphan[]> {
  const { store } = options;
  const orphans: Orphan[] = [];
  for (let offset = 0; offset < options.limit; offset += 100) {
    const page = await store.sessions.list({
      status: "running",
      offset,
      limit: Math.min(100, options.limit - offset),
    });
    for (const summary of page.items) {
      if (options.skip.has(summary.sessionId)) continue;
      const agent = agentOf(options.agents, summary);
      if (agent === undefined) continue;
      const probe = await store.sessions.acquire({
        sessionId: summary.sessionId,
        owner: options.owner,
        token: randomUUID(),
        ttlMs: 10_000,
        now: options.now(),
      });
      if (!probe.ok) continue;
      try {
        const now = await store.sessions.get(summary.sessionId);
        if (now?.status === "running") orphans.push({ sessionId: summary.sessionId, agent });
      } finally {
        await store.sessions.release(probe.lease);
      }
    }
    if (offset + 100 >= page.total) break;
  }
  return orphans;
}
