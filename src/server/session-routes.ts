import { z } from "zod";
import { SessionBusyError } from "../errors.js";
import { agentOf } from "../run/dispatcher.js";
import { CHECKPOINT_STATUSES, type CheckpointStatus } from "../store/checkpoint-store.js";
import type { SessionSummary } from "../store/session-store.js";
import { actPermission } from "./act-permission.js";
import { requireRole } from "./auth.js";
import { listInbox } from "./inbox.js";
import { PageQuery } from "./page-query.js";
import { type ApiApp, ownAgent, parseQuery, type ServerParts } from "./server-context.js";
import { NotFoundError } from "./server-errors.js";
import { summaryJson } from "./session-json.js";
import type { Caller } from "./tokens.js";

const InboxQuery = PageQuery.extend({
  status: z.enum(CHECKPOINT_STATUSES as [CheckpointStatus, ...CheckpointStatus[]]).optional(),
  graph: z.string().min(1).max(256).optional(),
  waiting: z.literal("approval").optional(),
}).strict();

/** Largest offset + limit of a history page: history is read newest first from the top. */
const MAX_HISTORY_DEPTH = 10_000;

/** The session's summary, or a 404. */
export async function sessionOr404(parts: ServerParts, sessionId: string): Promise<SessionSummary> {
  const summary = await parts.store.sessions.get(sessionId);
  if (summary === undefined) throw new NotFoundError("session", sessionId);
  return summary;
}

/** Registers the read routes of sessions, and `DELETE /api/sessions/:id`. */
export function sessionRoutes(app: ApiApp, parts: ServerParts): void {
  app.get("/api/sessions", async (c) => {
    requireRole(c, "viewer");
    const q = parseQuery(c, InboxQuery);
    const page = await listInbox(parts.store.sessions, {
      offset: q.offset ?? 0,
      limit: q.limit ?? 50,
      ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.graph === undefined ? {} : { graph: q.graph }),
      ...(q.waiting === undefined ? {} : { waiting: q.waiting }),
    });
    return c.json({
      items: page.items.map(summaryJson),
      total: page.total,
      offset: q.offset ?? 0,
      limit: q.limit ?? 50,
    });
  });

  app.get("/api/sessions/:id", async (c) => {
    const caller = requireRole(c, "viewer");
    return c.json(await sessionView(parts, c.req.param("id"), caller));
  });

  app.get("/api/sessions/:id/history", async (c) => {
    requireRole(c, "viewer");
    const id = c.req.param("id");
    const { offset = 0, limit = 50 } = parseQuery(c, PageQuery);
    const summary = await sessionOr404(parts, id);
    const agent = agentFor(parts, summary);
    const depth = Math.min(offset + limit + 1, MAX_HISTORY_DEPTH);
    const entries =
      agent === undefined
        ? (await parts.store.checkpoints.list(id, "", { limit: depth })).map((r) => ({
            ...r,
            state: undefined,
          }))
        : await agent.agent.history(id, { limit: depth });
    const items = entries
      .slice(offset, offset + limit)
      .map((entry) =>
        "error" in entry && entry.error !== undefined
          ? { ...entry, error: { code: entry.error.code, message: entry.error.message } }
          : entry,
      );
    return c.json({ items, offset, limit, more: entries.length > offset + limit });
  });

  app.get("/api/sessions/:id/audit", async (c) => {
    requireRole(c, "viewer");
    const id = c.req.param("id");
    const { offset = 0, limit = 50 } = parseQuery(c, PageQuery);
    await sessionOr404(parts, id);
    const page = await parts.store.audit.list(id, { offset, limit });
    return c.json({ items: page.items, total: page.total, offset, limit });
  });

  app.delete("/api/sessions/:id", async (c) => {
    const caller = requireRole(c, "admin");
    const id = c.req.param("id");
    const summary = await sessionOr404(parts, id);
    if (summary.status === "running") throw new SessionBusyError(id);
    await parts.store.sessions.delete(id, { now: Date.now(), actor: caller.name });
    return c.body(null, 204);
  });
}

/** The agent of this server that runs the session's graph, with its name. */
function agentFor(parts: ServerParts, summary: SessionSummary) {
  const name = agentOf(parts.agents, summary);
  const agent = name === undefined ? undefined : ownAgent(parts.agents, name);
  return name === undefined || agent === undefined ? undefined : { name, agent };
}

/**
 * What `GET /api/sessions/:id` answers: where the session stands (state, path, status, next
 * nodes), the open gate with the output under review and every earlier round, the graph
 * (Mermaid text and node list) so a page can draw it, and whether the caller may act on it
 * (`canAct`, by the rule the interrupt route enforces; `reviewers`: the names it allows).
 */
async function sessionView(parts: ServerParts, sessionId: string, caller: Caller) {
  const summary = await sessionOr404(parts, sessionId);
  const permission = await actPermission(parts, caller, sessionId);
  const ended = summary.status === "completed" || summary.status === "rejected";
  const agent = agentFor(parts, summary);
  const checkpoint = agent === undefined ? undefined : await agent.agent.getState(sessionId);
  const gate = checkpoint?.meta.gate ?? summary.gate;
  const depth = (await parts.store.interrupts.stats(sessionId)).depth;
  return {
    ...summaryJson(summary),
    agent: agent?.name ?? null,
    state: checkpoint?.state ?? null,
    path: checkpoint?.path ?? null,
    next: checkpoint?.next ?? null,
    iteration: checkpoint?.iteration ?? null,
    gate: gate ?? null,
    pause: checkpoint?.meta.pause ?? null,
    outcome: checkpoint?.meta.outcome ?? null,
    queue: { depth },
    canAct: !ended && permission.refusal === undefined,
    reviewers: permission.reviewers ?? null,
    graph:
      agent === undefined
        ? null
        : {
            name: agent.agent.graph.name,
            nodes: agent.agent.graph.nodeNames,
            mermaid: agent.agent.graph.toMermaid(),
          },
  };
}
