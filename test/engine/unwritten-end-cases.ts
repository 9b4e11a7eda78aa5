/**
 * Engine suite cases: a run whose final checkpoint does not reach the store. The run ends
 * `failed` with the write's error, whatever it had reached (a gate, a cancel), because nothing
 * of that end is stored; a resume in another process then ends it as the first run would have,
 * each message applied once. Where the end did reach the store and only the answer was lost,
 * the store's end stands: a resume finds the gate it opened. A decision whose write fails is
 * neither refused nor announced: the gate stays open in the failed end, and the next run
 * decides it and announces it once.
 */
import { expect, it } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import { StoreUnavailableError } from "../../src/errors.js";
import {
  END,
  Graph,
  GraphAgent,
  type GraphEvent,
  type InterruptConfig,
  InterruptService,
  START,
  type Store,
  silentLogger,
} from "../../src/index.js";
import { CrashableStore, commitWhere, commitWithStatus } from "./crashable-store.js";
import { eventually, expectAuditInOrder, settledOutcome } from "./engine-checks.js";

const T0 = 1_700_000_000_000;
const SUSPENDING: InterruptConfig = { approvals: { review: {} } };
const TIMED: InterruptConfig = { approvals: { review: { timeoutMs: 60_000 } } };

const Log = z.object({ log: z.array(z.string()).default([]) });

/** START → draft → review (the gate) → publish → END, counting executions across processes. */
function reviewGraph(counts: Map<string, number>) {
  const node = (name: string) => () => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return { log: [name] };
  };
  return new Graph({ state: Log, reducers: { log: "append" }, name: "engine-unwritten" })
    .addNode("draft", node("draft"))
    .addNode("review", node("review"))
    .addNode("publish", node("publish"))
    .addEdge(START, "draft")
    .addEdge("draft", "review")
    .addEdge("review", "publish")
    .addEdge("publish", END)
    .compile();
}

function processOver(
  store: Store,
  counts: Map<string, number>,
  interruptConfig: InterruptConfig,
  at = T0,
  durability: "step" | "exit" = "step",
) {
  const clock = new SimulatedClock(at);
  const interrupts = new InterruptService({ store, clock, logger: silentLogger });
  const agent = new GraphAgent({
    graph: reviewGraph(counts),
    store,
    interrupts,
    clock,
    logger: silentLogger,
    leaseTtlMs: 1_000,
    interruptConfig,
    durability,
  });
  const events: GraphEvent[] = [];
  agent.on("approval:requested", (e) => events.push(e));
  const decided: GraphEvent[] = [];
  agent.on("approval:decided", (e) => decided.push(e));
  return { clock, interrupts, agent, events, decided };
}

/** The commit that stores a gate's decision: a checkpoint whose meta carries it, or the run's end. */
function decisionCommit(decision: string) {
  return commitWhere(
    (batch) =>
      batch.audit?.some(
        (entry) =>
          entry.kind === "approval.decided" &&
          (entry.data as { decision?: string } | undefined)?.decision === decision,
      ) ?? false,
  );
}

const cut = () => {
  throw new StoreUnavailableError("crashable", "the connection was cut");
};

export function unwrittenEndCases(
  store: () => Store,
  other: () => Store,
  session: (label: string) => string,
): void {
  it("ends a run whose gate could not be written failed, and a resume elsewhere opens the gate and obeys a reject", async () => {
    const counts = new Map<string, number>();
    const id = session("unwritten-gate");
    const cutting = new CrashableStore(store());
    cutting.before(commitWithStatus("paused"), cut);
    const one = processOver(cutting, counts, SUSPENDING);
    const first = await one.agent.run({}, { sessionId: id });
    expect(first.status).toBe("failed");
    expect(first.error?.code).toBe("STORE_UNAVAILABLE");
    expect(first.gate).toBeUndefined();
    // No process sees the session waiting: the store holds the step before the end.
    expect((await other().sessions.get(id))?.status).toBe("running");

    const two = processOver(other(), counts, SUSPENDING);
    const paused = await two.agent.resume(id);
    expect(paused.status).toBe("paused");
    expect(paused.gate).toMatchObject({ node: "review", revision: 0 });
    expect((await other().sessions.get(id))?.gate?.requestId).toBe(paused.gate?.requestId);
    const reject = await two.interrupts.send(id, { type: "reject" }, { sender: "ana" });
    expect((await two.agent.resume(id)).status).toBe("rejected");
    expect(Object.fromEntries(counts)).toEqual({ draft: 1, review: 1 });
    expect(await settledOutcome((m) => two.interrupts.outcome(m), reject.id)).toMatchObject({
      status: "applied",
    });
    const { items } = await two.agent.auditTrail(id, { limit: 500 });
    expectAuditInOrder(items, { abandoned: 1 });
    expect(items.filter((e) => e.kind === "approval.requested")).toHaveLength(1);
  });

  it("keeps a cancel whose end could not be written queued, and the next run elsewhere applies it once", async () => {
    const counts = new Map<string, number>();
    const id = session("unwritten-cancel");
    const cutting = new CrashableStore(store());
    const one = processOver(cutting, counts, TIMED);
    const run = one.agent.run({}, { sessionId: id });
    await eventually(() => one.events.length === 1, "the gate opens");
    cutting.before(commitWithStatus("cancelled"), cut);
    const cancel = await one.interrupts.send(id, { type: "cancel" }, { sender: "bob" });
    const first = await run;
    expect(first.status).toBe("failed");
    expect(first.error?.code).toBe("STORE_UNAVAILABLE");
    // Its claim was not settled: the message is there for the next run.
    expect((await other().interrupts.get(cancel.id))?.state).toMatch(/^(queued|claimed)$/);
    expect((await other().sessions.get(id))?.status).not.toBe("cancelled");

    const two = processOver(other(), counts, TIMED, one.clock.now());
    const cancelled = await two.agent.resume(id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.gate?.node).toBe("review");
    expect(Object.fromEntries(counts)).toEqual({ draft: 1, review: 1 });
    expect(await settledOutcome((m) => two.interrupts.outcome(m), cancel.id)).toMatchObject({
      status: "applied",
    });
    const { items } = await two.agent.auditTrail(id, { limit: 500 });
    expectAuditInOrder(items, { abandoned: 1 });
    expect(items.filter((e) => e.kind === "interrupt.applied")).toHaveLength(1);
  });

  it("reports a gate whose write reached the store but whose answer was lost as failed, and a resume finds that gate", async () => {
    const counts = new Map<string, number>();
    const id = session("lost-answer");
    const cutting = new CrashableStore(store());
    cutting.after(commitWithStatus("paused"), cut);
    const one = processOver(cutting, counts, SUSPENDING);
    const first = await one.agent.run({}, { sessionId: id });
    expect(first.status).toBe("failed");
    const stored = await other().sessions.get(id);
    expect(stored?.status).toBe("paused");
    expect(stored?.gate?.node).toBe("review");

    const two = processOver(other(), counts, SUSPENDING);
    const again = await two.agent.resume(id);
    expect(again.status).toBe("paused");
    expect(again.gate?.requestId).toBe(stored?.gate?.requestId);
    expect(Object.fromEntries(counts)).toEqual({ draft: 1, review: 1 });
  });

  const decisions = [
    ["approve", "step"],
    ["reject", "step"],
    ["request_changes", "step"],
    // Buffered steps go with the decision's write and are lost with it.
    ["approve", "exit"],
    ["request_changes", "exit"],
  ] as const;
  for (const [decision, durability] of decisions) {
    it(`announces a ${decision} only once it is stored (durability ${durability}): a failed write announces nothing, and the resume elsewhere announces it once`, async () => {
      const counts = new Map<string, number>();
      const id = session(`unannounced-${decision}-${durability}`);
      const one = processOver(store(), counts, SUSPENDING, T0, durability);
      const paused = await one.agent.run({}, { sessionId: id });
      expect(paused.status).toBe("paused");
      const action =
        decision === "approve"
          ? { type: decision, comment: "as decided" }
          : decision === "reject"
            ? { type: decision, reason: "as decided" }
            : { type: decision, feedback: "as decided" };
      await one.interrupts.send(id, action, { sender: "ana" });

      const cutting = new CrashableStore(store());
      cutting.before(decisionCommit(decision), cut);
      const two = processOver(cutting, counts, SUSPENDING, one.clock.now(), durability);
      const failed = await two.agent.resume(id);
      expect(failed.status).toBe("failed");
      expect(two.decided).toEqual([]);
      // The failed end keeps the gate open: nothing got past it unrecorded.
      expect(counts.get("publish")).toBeUndefined();
      expect(counts.get("review")).toBe(1);
      const latest = await other().checkpoints.latest(id, "");
      expect(latest?.kind === "unparsable" ? undefined : latest?.meta.gate?.requestId).toBe(
        paused.gate?.requestId,
      );

      const three = processOver(other(), counts, SUSPENDING, one.clock.now(), durability);
      const ended = await three.agent.resume(id);
      expect(ended.status).toBe(
        decision === "approve" ? "completed" : decision === "reject" ? "rejected" : "paused",
      );
      expect(three.decided).toMatchObject([{ type: "approval:decided", decision }]);
      expect(three.decided[0]).toMatchObject({ requestId: paused.gate?.requestId });
      expect(Object.fromEntries(counts)).toEqual(
        decision === "approve"
          ? { draft: 1, review: 1, publish: 1 }
          : decision === "reject"
            ? { draft: 1, review: 1 }
            : { draft: 1, review: 2 },
      );
      const { items } = await three.agent.auditTrail(id, { limit: 500 });
      expect(items.filter((e) => e.kind === "approval.decided")).toHaveLength(1);
    });
  }

  it("keeps a go-back whose write failed queued, with the gate open, and the resume elsewhere goes back once", async () => {
    const counts = new Map<string, number>();
    const id = session("unwritten-go-back");
    const one = processOver(store(), counts, SUSPENDING);
    const paused = await one.agent.run({}, { sessionId: id });
    expect(paused.status).toBe("paused");
    const back = await one.interrupts.send(id, { type: "go_back", to: "draft" }, { sender: "ana" });

    const cutting = new CrashableStore(store());
    cutting.before(
      commitWhere((batch) => batch.checkpoints?.some((c) => c.meta.restoredFrom) ?? false),
      cut,
    );
    const two = processOver(cutting, counts, SUSPENDING, one.clock.now());
    const failed = await two.agent.resume(id);
    expect(failed.status).toBe("failed");
    expect(failed.error?.code).toBe("STORE_UNAVAILABLE");
    // Not refused: the message waits for the next run.
    expect((await other().interrupts.get(back.id))?.state).toBe("queued");
    const latest = await other().checkpoints.latest(id, "");
    expect(latest?.kind === "unparsable" ? undefined : latest?.meta.gate?.requestId).toBe(
      paused.gate?.requestId,
    );
    expect(Object.fromEntries(counts)).toEqual({ draft: 1, review: 1 });

    const three = processOver(other(), counts, SUSPENDING, one.clock.now());
    const again = await three.agent.resume(id);
    expect(again.status).toBe("paused");
    expect(Object.fromEntries(counts)).toEqual({ draft: 2, review: 2 });
    expect(await settledOutcome((m) => three.interrupts.outcome(m), back.id)).toMatchObject({
      status: "applied",
    });
  });
}
