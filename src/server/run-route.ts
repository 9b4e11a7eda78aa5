import { randomUUID } from "node:crypto";
import { z } from "zod";
import { SessionNotFinishedError } from "../errors.js";
import { requireRole } from "./auth.js";
import { RUN_REQUESTED } from "./reviewers.js";
import { type ApiApp, ownAgent, parseBody, type ServerParts } from "./server-context.js";
import { BadRequestError } from "./server-errors.js";

const RunBody = z
  .object({
    agent: z.string().min(1).max(256),
    input: z.unknown().optional(),
    sessionId: z.string().min(1).max(256).optional(),
    /** Token names that may act on the session (admins always may); absent: every reviewer. */
    reviewers: z.array(z.string().min(1).max(256)).max(100).optional(),
  })
  .strict();

/**
 * `POST /api/runs`: checks the agent and the input, records the request (and the session's
 * reviewers) in the audit trail in the caller's name, hands the run to the dispatcher and
 * answers 202 with the session id at once.
 */
export function runRoute(app: ApiApp, parts: ServerParts): void {
  app.post("/api/runs", async (c) => {
    const caller = requireRole(c, "admin");
    const body = await parseBody(c, RunBody);
    const agent = ownAgent(parts.agents, body.agent);
    if (agent === undefined) {
      const known = Object.keys(parts.agents);
      throw new BadRequestError("body", [
        `agent: no agent \`${body.agent}\`; this server runs ${known.length === 0 ? "no agents (start it with --agents MODULE)" : known.map((k) => `\`${k}\``).join(", ")}`,
      ]);
    }
    const input = body.input ?? {};
    agent.graph.state.parseInput(input);
    const sessionId = body.sessionId ?? randomUUID();
    const summary = await parts.store.sessions.get(sessionId);
    if (summary !== undefined && (summary.status === "running" || summary.status === "paused")) {
      throw new SessionNotFinishedError(sessionId, summary.status, summary.gate?.node);
    }
    await parts.store.audit.append({
      sessionId,
      at: Date.now(),
      kind: RUN_REQUESTED,
      actor: caller.name,
      data: {
        agent: body.agent,
        ...(body.reviewers === undefined ? {} : { reviewers: body.reviewers }),
      },
    });
    const dispatched = await parts.dispatcher.start({ agent: body.agent, input, sessionId });
    return c.json({ sessionId, dispatchId: dispatched.id }, 202);
  });
}
