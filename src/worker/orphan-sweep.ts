import { randomUUID } from "node:crypto";
import type { QueuedInterrupt } from "../interrupts/interrupt-message.js";
import type { AnyAgent } from "../run/define-agents.js";
import { agentOf, wakesSession } from "../run/dispatcher.js";
import type { SessionSummary } from "../store/session-store.js";
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
  for await (const { summary, agent } of sessionsWith("running", options)) {
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
  return orphans;
}

/**
 * The sessions of one status, up to `limit`, a page at a time, that an agent here runs and
 * that are not in `skip`.
 */
async function* sessionsWith(
  status: "running" | "paused",
  options: {
    readonly store: Store;
    readonly agents: Readonly<Record<string, AnyAgent>>;
    readonly skip: ReadonlySet<string>;
    readonly limit: number;
  },
): AsyncGenerator<{ summary: SessionSummary; agent: string }> {
  for (let offset = 0; offset < options.limit; offset += 100) {
    const page = await options.store.sessions.list({
      status,
      offset,
      limit: Math.min(100, options.limit - offset),
    });
    for (const summary of page.items) {
      if (options.skip.has(summary.sessionId)) continue;
      const agent = agentOf(options.agents, summary);
      if (agent !== undefined) yield { summary, agent };
    }
    if (offset + 100 >= page.total) return;
  }
}

/**
 * Finds suspended sessions with a queued message that wakes them (a decision at a gate, a
 * `resume` after a pause) but no resume on its way: the message arrived while no worker was
 * listening. Looks at up to `limit` paused sessions a sweep.
 */
export async function findUnwoken(options: {
  readonly store: Store;
  readonly agents: Readonly<Record<string, AnyAgent>>;
  readonly skip: ReadonlySet<string>;
  readonly limit: number;
}): Promise<Orphan[]> {
  const { store } = options;
  const found: Orphan[] = [];
  for await (const { summary, agent } of sessionsWith("paused", options)) {
    const queued = await store.interrupts.list(summary.sessionId, { limit: 50 });
    const wakes = queued.items.some((message: QueuedInterrupt) =>
      wakesSession(summary, message.kind === "text" ? message.text : message.action),
    );
    if (wakes) found.push({ sessionId: summary.sessionId, agent });
  }
  return found;
}
