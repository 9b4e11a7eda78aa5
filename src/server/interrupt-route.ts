import { z } from "zod";
import { later } from "../clock.js";
import { SessionEndedError } from "../errors.js";
import type { InterruptInput, InterruptOutcome } from "../interrupts/interrupt-message.js";
import { actPermission } from "./act-permission.js";
import { requireRole } from "./auth.js";
import { type ApiApp, parseBody, parseQuery, type ServerParts } from "./server-context.js";
import { ForbiddenError } from "./server-errors.js";
import { outcomeJson, receiptJson } from "./session-json.js";
import { sessionOr404 } from "./session-routes.js";

/** Free text for the reasoner, or any object with a `type` (the service validates the action). */
const InterruptBody = z.union([
  z.object({ text: z.string().min(1) }).strict(),
  z.looseObject({ type: z.string().min(1) }),
]);

const WaitQuery = z
  .object({
    wait: z
      .string()
      .regex(/^\d{1,9}$/, "must be a whole number of milliseconds")
      .optional(),
  })
  .strict();

/** Resolves with the outcome, or `undefined` once `ms` pass. */
function within(
  decision: Promise<InterruptOutcome>,
  ms: number,
): Promise<InterruptOutcome | undefined> {
  if (ms <= 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const cancel = later(ms, () => resolve(undefined), { keepAlive: true });
    void decision.then((outcome) => {
      cancel();
      resolve(outcome);
    });
  });
}

/**
 * `POST /api/sessions/:id/interrupts`: queues an action or free text in the caller's name (the
 * audit trail's actor), wakes the session if the message should continue it, and answers with
 * the receipt and, with `?wait=ms`, what was decided by then.
 */
export function interruptRoute(app: ApiApp, parts: ServerParts): void {
  app.post("/api/sessions/:id/interrupts", async (c) => {
    const caller = requireRole(c, "reviewer");
    const id = c.req.param("id");
    const { wait } = parseQuery(c, WaitQuery);
    const summary = await sessionOr404(parts, id);
    if (summary.status === "completed" || summary.status === "rejected") {
      // The run that ended would never read it, and a later run must not: refuse it now.
      throw new SessionEndedError(id, summary.status, "");
    }
    const { refusal } = await actPermission(parts, caller, id);
    if (refusal !== undefined) throw new ForbiddenError(refusal);
    const body = await parseBody(c, InterruptBody);
    const input = (
      "text" in body && typeof body.text === "string" ? body.text : body
    ) as InterruptInput;
    const receipt = await parts.interrupts.send(id, input, { sender: caller.name });
    await parts.waker.afterSend(id, input, receipt);
    const outcome = await within(
      receipt.decision,
      Math.min(Number(wait ?? 0), parts.limits.maxWaitMs),
    );
    return c.json(
      {
        receipt: receiptJson(receipt),
        decision: outcome === undefined ? null : outcomeJson(outcome),
      },
      outcome === undefined ? 202 : 200,
    );
  });
}
