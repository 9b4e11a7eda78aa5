import { describe, expect, it } from "vitest";
import {
  type InterruptReasoner,
  MemoryStore,
  ReasonerOutputError,
  RunEndedError,
} from "../../src/index.js";
import { CrashableStore } from "../engine/crashable-store.js";
import { turns } from "../graph/helpers.js";
import {
  decided,
  refusedWith,
  requested,
  reviewGraph,
  setup,
  sleeping,
  stillPending,
} from "./harness.js";

/** A commit that writes the session's final checkpoint with this status. */
const finalWrite =
  (status: string) =>
  (call: { readonly name: string; readonly args: readonly unknown[] }): boolean => {
    if (call.name !== "commit") return false;
    const batch = call.args[0] as { checkpoints?: { status: string; thread: string }[] };
    return batch.checkpoints?.some((c) => c.thread === "" && c.status === status) ?? false;
  };

describe("receipts", () => {
  it("refuses the messages still queued when the run ends rejected, with RunEndedError", async () => {
    const t = setup({ graph: reviewGraph, interruptConfig: { approvals: { review: {} } } });
    expect((await t.agent.run({}, { sessionId: "s" })).status).toBe("paused");
    const reject = await t.interrupts.send("s", { type: "reject", reason: "no" });
    const update = await t.interrupts.send("s", { type: "update_state", values: { note: "x" } });
    const result = await t.agent.resume("s");
    expect(result.status).toBe("rejected");
    expect((await decided(reject)).status).toBe("applied");
    const error = await refusedWith(update, RunEndedError);
    expect(error.status).toBe("rejected");
    expect(await t.interrupts.hasPending("s")).toBe(false);
  });

  it("refuses the messages no check read when the run completes, with RunEndedError", async () => {
    const t = setup({ interruptConfig: { nodes: ["a"] } });
    const hold = t.probe.hold("c");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const update = await t.interrupts.send("s", { type: "update_state", values: { note: "x" } });
    hold.release();
    expect((await run).status).toBe("completed");
    expect((await refusedWith(update, RunEndedError)).status).toBe("completed");
  });

  it.each([
    ["not an outcome at all", { type: "explode" }],
    [
      "an outcome with an unknown action",
      {
        decision: { action: { type: "explode" }, reasoning: "boom", confidence: 1 },
        source: "model",
      },
    ],
  ])(
    "refuses free text with ReasonerOutputError when a custom reasoner returns %s, and the run goes on",
    async (_what, answer) => {
      const reasoner: InterruptReasoner = { decide: async () => answer as never };
      const t = setup({ interruptConfig: { reasoner } });
      const hold = t.probe.hold("b");
      const run = t.agent.run({}, { sessionId: "s" });
      await hold.entered;
      const receipt = await t.interrupts.send("s", "do something", { sender: "ana" });
      hold.release();
      const result = await run;
      expect(result.status).toBe("completed");
      expect(result.state.log).toEqual(["a", "b", "c", "d"]);
      await refusedWith(receipt, ReasonerOutputError);
      const { items } = await t.agent.auditTrail("s");
      expect(items.find((e) => e.kind === "interrupt.refused")).toMatchObject({
        actor: "ana",
        data: { id: receipt.id, code: "REASONER_OUTPUT_INVALID" },
      });
    },
  );

  it("settles a message whose time to live ran out while the session was suspended", async () => {
    const t = setup({ limits: { messageTtlMs: 1_000 } });
    await t.interrupts.send("s", { type: "pause" });
    expect((await t.agent.run({}, { sessionId: "s" })).status).toBe("paused");
    const late = await t.interrupts.send("s", { type: "update_state", values: { note: "x" } });
    await t.clock.advance(1_000);
    const result = await t.agent.resume("s");
    expect(result.status).toBe("completed");
    expect(result.state.note).toBe("");
    expect(await decided(late)).toEqual({ status: "expired" });
    expect(await t.interrupts.hasPending("s")).toBe(false);
  });
});

describe("cancel at the end of a run", () => {
  it("refuses a cancel that arrives while the completed run writes its end, with RunEndedError", async () => {
    const store = new CrashableStore(new MemoryStore());
    const t = setup({ store });
    let cancel: Awaited<ReturnType<typeof t.interrupts.send>> | undefined;
    store.before(finalWrite("completed"), async () => {
      cancel = await t.interrupts.send("s", { type: "cancel" });
      await turns(2);
    });
    const result = await t.agent.run({}, { sessionId: "s" });
    expect(result.status).toBe("completed");
    const error = await refusedWith(cancel!, RunEndedError);
    expect(error.status).toBe("completed");
    expect(await t.interrupts.hasPending("s")).toBe(false);
    expect((await t.interrupts.metrics("s")).inFlight).toBe(0);
  });

  it("ends the run cancelled when a cancel arrives after a pause was taken but before the run ended", async () => {
    const store = new CrashableStore(new MemoryStore());
    const t = setup({ store });
    const hold = t.probe.hold("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const pause = await t.interrupts.send("s", { type: "pause", mode: "suspend" });
    let cancel: Awaited<ReturnType<typeof t.interrupts.send>> | undefined;
    store.after(
      (call) =>
        call.name === "interrupts.claim" && (call.result as { id?: string })?.id === pause.id,
      async () => {
        cancel = await t.interrupts.send("s", { type: "cancel", reason: "stop" });
        await turns(3);
      },
    );
    hold.release();
    const result = await run;
    expect(result.status).toBe("cancelled");
    expect((await decided(cancel!)).status).toBe("applied");
    expect((await decided(pause)).status).toBe("applied");
    expect((await t.agent.getState("s"))?.status).toBe("cancelled");
  });

  it("keeps a cancel that arrives while a paused run writes its end queued for the session's next run", async () => {
    const store = new CrashableStore(new MemoryStore());
    const t = setup({ store });
    await t.interrupts.send("s", { type: "pause" });
    let cancel: Awaited<ReturnType<typeof t.interrupts.send>> | undefined;
    store.before(finalWrite("paused"), async () => {
      cancel = await t.interrupts.send("s", { type: "cancel" });
      await turns(2);
    });
    expect((await t.agent.run({}, { sessionId: "s" })).status).toBe("paused");
    await turns(3);
    // Not taken by the run that had already ended: still queued, nobody holds it.
    expect((await store.interrupts.get(cancel!.id))?.state).toBe("queued");
    expect((await t.interrupts.metrics("s")).inFlight).toBe(0);
    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("cancelled");
    expect(t.probe.count("a")).toBe(0);
    expect((await decided(cancel!)).status).toBe("applied");
  });
});

describe("the audit trail", () => {
  it("records runs, messages, approvals, pauses and state changes in order, each with its sender", async () => {
    const t = setup({ graph: reviewGraph, interruptConfig: { approvals: { review: {} } } });
    await t.interrupts.send(
      "s",
      { type: "update_state", values: { note: "x" } },
      { sender: "ana" },
    );
    const first = await t.agent.run({}, { sessionId: "s" });
    await t.interrupts.send("s", { type: "skip" }, { sender: "dan" });
    await t.interrupts.send("s", { type: "approve", comment: "ok" }, { sender: "bob" });
    const hold = t.probe.hold("publish");
    const resumed = t.agent.resume("s");
    await hold.entered;
    await t.interrupts.send("s", { type: "pause" }, { sender: "cara" });
    hold.release();
    const second = await resumed;
    const third = await t.agent.resume("s");
    const forked = await t.agent.fork("s", third.checkpointId!, { actor: "lead" });
    expect([first.status, second.status, third.status, forked.status]).toEqual([
      "paused",
      "paused",
      "completed",
      "completed",
    ]);

    const { items } = await t.agent.auditTrail("s");
    expect(items.map((e) => [e.kind, e.actor, (e.data as { status?: string }).status])).toEqual([
      ["interrupt.received", "ana", undefined],
      ["run.started", undefined, undefined],
      ["interrupt.applied", "ana", undefined],
      ["state.updated", "ana", undefined],
      ["approval.requested", undefined, undefined],
      ["run.finished", undefined, "paused"],
      ["interrupt.received", "dan", undefined],
      ["interrupt.received", "bob", undefined],
      ["run.resumed", undefined, "paused"],
      ["interrupt.refused", "dan", undefined],
      ["interrupt.applied", "bob", undefined],
      ["approval.decided", "bob", undefined],
      ["interrupt.received", "cara", undefined],
      ["interrupt.applied", "cara", undefined],
      ["run.paused", "cara", undefined],
      ["run.finished", undefined, "paused"],
      ["run.resumed", undefined, "paused"],
      ["run.finished", undefined, "completed"],
      ["run.forked", "lead", undefined],
      ["run.finished", undefined, "completed"],
    ]);
    expect(items.map((e) => e.seq)).toEqual(items.map((_e, i) => i + 1));
    expect(items.find((e) => e.kind === "approval.decided")?.data).toMatchObject({
      decision: "approve",
      by: "human",
      content: "ok",
      requestId: first.gate?.requestId,
    });
    expect(items.find((e) => e.kind === "state.updated")?.data).toEqual({ keys: ["note"] });
    expect(items.find((e) => e.kind === "run.paused")).toMatchObject({
      node: "publish",
      data: { mode: "suspend" },
    });
    const resumes = items.filter((e) => e.kind === "run.resumed");
    expect(resumes.map((e) => (e.data as { checkpointId: string }).checkpointId)).toEqual([
      first.checkpointId,
      second.checkpointId,
    ]);
    expect(items.find((e) => e.kind === "run.forked")?.data).toMatchObject({
      from: { sessionId: "s", checkpointId: third.checkpointId },
    });
    // Each run's messages and its end carry the run's id.
    const finished = items.filter((e) => e.kind === "run.finished").map((e) => e.runId);
    expect(finished).toEqual([first.runId, second.runId, third.runId, forked.runId]);
    const opened = items
      .filter((e) => ["run.started", "run.resumed", "run.forked"].includes(e.kind))
      .map((e) => e.runId);
    expect(opened).toEqual([first.runId, second.runId, third.runId, forked.runId]);
  });

  it("writes no approval.decided when agent.cancel() ends a run waiting at a gate that would approve on timeout", async () => {
    const t = setup({
      graph: reviewGraph,
      interruptConfig: { approvals: { review: { timeoutMs: 500, onTimeout: "approve" } } },
    });
    const run = t.agent.run({}, { sessionId: "s" });
    await requested(t);
    expect(t.agent.cancel("s", "closing")).toBe(true);
    const result = await run;
    expect(result.status).toBe("cancelled");
    await t.clock.advance(1_000);
    const { items } = await t.agent.auditTrail("s");
    expect(items.map((e) => e.kind)).not.toContain("approval.decided");
    expect(items.at(-1)).toMatchObject({ kind: "run.finished", data: { status: "cancelled" } });
    expect(t.probe.count("publish")).toBe(0);
    // The request is still open for a resume.
    expect((await t.agent.getState("s"))?.meta.gate?.node).toBe("review");
  });

  it("does not apply an update_state that arrives as a wait-pause times out into a cancel; a resume applies it", async () => {
    const store = new CrashableStore(new MemoryStore());
    const t = setup({ store, interruptConfig: { onPauseTimeout: "cancel" } });
    const hold = t.probe.hold("a");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "pause", mode: "wait", timeoutMs: 500 });
    hold.release();
    await sleeping(t.clock);
    let update: Awaited<ReturnType<typeof t.interrupts.send>> | undefined;
    store.before(finalWrite("cancelled"), async () => {
      update = await t.interrupts.send("s", { type: "update_state", values: { note: "late" } });
      await turns(2);
    });
    await t.clock.advance(500);
    const result = await run;
    expect(result.status).toBe("cancelled");
    expect(result.state.note).toBe("");
    expect(await stillPending(update!.decision)).toBe(true);
    expect(await t.interrupts.hasPending("s")).toBe(true);
    const { items } = await t.agent.auditTrail("s");
    expect(items.map((e) => e.kind)).not.toContain("state.updated");

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.note).toBe("late");
    expect((await decided(update!)).status).toBe("applied");
  });
});
