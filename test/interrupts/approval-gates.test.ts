import { describe, expect, it } from "vitest";
import {
  type ApprovalGate,
  InterruptNotApplicableError,
  RunRejectedError,
} from "../../src/index.js";
import {
  decided,
  ofType,
  refusedWith,
  reviewGraph,
  setup,
  sleeping,
  stillPending,
  until,
} from "./harness.js";

/** The review graph with a gate on `review`, and `review` held so decisions can be queued. */
function gated(gate: ApprovalGate = {}) {
  const t = setup({ graph: reviewGraph, interruptConfig: { approvals: { review: gate } } });
  const hold = t.probe.hold("review");
  const run = t.agent.run({}, { sessionId: "s" });
  return { ...t, hold, run };
}

describe("approval gates", () => {
  it("suspends at the gate when no decision is queued and there is no timeout", async () => {
    const { hold, run, agent, probe } = gated();
    hold.release();
    const result = await run;
    expect(result.status).toBe("paused");
    expect(result.path).toEqual(["draft", "review"]);
    expect(probe.count("publish")).toBe(0);
    expect((await agent.getState("s"))?.meta.pending).toEqual({
      kind: "approval",
      node: "review",
      revisions: 0,
    });
  });

  it("approve lets the run continue along the node's edges", async () => {
    const { hold, run, interrupts, events } = gated();
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "approve", comment: "fine" });
    hold.release();
    const result = await run;
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["draft", "review", "publish"]);
    expect((await decided(receipt)).status).toBe("applied");
    expect(ofType(events, "approval:decided")).toEqual([
      expect.objectContaining({ node: "review", decision: "approve", by: "human" }),
    ]);
  });

  it("reject ends the run rejected with RunRejectedError", async () => {
    const { hold, run, interrupts, probe } = gated();
    await hold.entered;
    await interrupts.send("s", { type: "reject", reason: "off topic" });
    hold.release();
    const result = await run;
    expect(result.status).toBe("rejected");
    expect(result.error).toBeInstanceOf(RunRejectedError);
    expect((result.error as RunRejectedError).node).toBe("review");
    expect(result.error?.message).toContain("off topic");
    expect(probe.count("publish")).toBe(0);
  });

  it("reject with onReject follows that edge instead", async () => {
    const { hold, run, interrupts, events } = gated({ onReject: "revise" });
    await hold.entered;
    await interrupts.send("s", { type: "reject" });
    hold.release();
    const result = await run;
    expect(result.status).toBe("completed");
    expect(result.path).toEqual(["draft", "review", "revise"]);
    expect(ofType(events, "edge:taken").find((e) => e.label === "rejected")).toMatchObject({
      from: "review",
      to: ["revise"],
      reason: "interrupt",
    });
  });

  it("request_changes re-runs the node from the state before it, with the feedback", async () => {
    const { hold, run, interrupts, probe, events, clock } = gated({ timeoutMs: 600_000 });
    await hold.entered;
    await interrupts.send("s", { type: "request_changes", feedback: "shorter" });
    hold.release();
    await until(() => ofType(events, "approval:requested").length === 2 && clock.pending > 0);
    await interrupts.send("s", { type: "approve" });
    const result = await run;

    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["draft", "review:shorter", "publish"]);
    const reviews = probe.executions.filter((e) => e.node === "review");
    expect(reviews.map((e) => e.feedback)).toEqual([undefined, "shorter"]);
    expect(reviews[1]?.state).toEqual(reviews[0]?.state);
    expect(ofType(events, "approval:requested").map((e) => e.revision)).toEqual([0, 1]);
  });

  it("refuses a decision that waits in the queue while the node re-runs (the check before it takes it)", async () => {
    const { hold, run, interrupts } = gated();
    await hold.entered;
    await interrupts.send("s", { type: "request_changes", feedback: "shorter" });
    const early = await interrupts.send("s", { type: "approve" });
    hold.release();
    const result = await run;
    // Documented: approve outside a gate is refused. The gate then suspends for a decision.
    await refusedWith(early, InterruptNotApplicableError);
    expect(result.status).toBe("paused");
    expect(result.state.log).toEqual(["draft", "review:shorter"]);
  });

  it("refuses rerun and skip at a gate and keeps waiting", async () => {
    const { hold, run, interrupts } = gated();
    await hold.entered;
    const rerun = await interrupts.send("s", { type: "rerun" });
    const skip = await interrupts.send("s", { type: "skip" });
    const approve = await interrupts.send("s", { type: "approve" });
    hold.release();
    expect((await run).status).toBe("completed");
    await refusedWith(rerun, InterruptNotApplicableError);
    await refusedWith(skip, InterruptNotApplicableError);
    expect((await decided(approve)).status).toBe("applied");
  });

  it.each([
    ["reject", "rejected", ["draft", "review:one"]],
    ["approve", "completed", ["draft", "review:one", "publish"]],
  ] as const)(
    "applies onRevisionLimit %s when one more round would pass maxRevisions",
    async (onRevisionLimit, status, log) => {
      const { hold, run, interrupts, probe, events, agent, clock } = gated({
        maxRevisions: 1,
        onRevisionLimit,
        timeoutMs: 600_000,
      });
      await hold.entered;
      await interrupts.send("s", { type: "request_changes", feedback: "one" }, { sender: "ana" });
      hold.release();
      await until(() => ofType(events, "approval:requested").length === 2 && clock.pending > 0);
      const second = await interrupts.send(
        "s",
        { type: "request_changes", feedback: "two" },
        { sender: "ana" },
      );
      const result = await run;

      expect(result.status).toBe(status);
      expect(result.state.log).toEqual(log);
      expect(probe.count("review")).toBe(2);
      expect((await decided(second)).status).toBe("applied");
      expect(ofType(events, "approval:decided").at(-1)).toMatchObject({
        decision: onRevisionLimit,
        by: "revision-limit",
      });
      const limited = (await agent.auditTrail("s")).items.filter(
        (e) => e.kind === "approval.decided" && e.actor === "ana",
      );
      expect(limited.map((e) => e.data)).toEqual([
        { decision: "request_changes", content: "one", revision: 0 },
        { decision: "request_changes", content: "two", refusedBy: "revision-limit" },
      ]);
    },
  );

  it.each([
    ["approve", "completed", ["draft", "review", "publish"]],
    ["reject", "rejected", ["draft", "review"]],
  ] as const)(
    "applies onTimeout %s when no decision arrives within timeoutMs",
    async (onTimeout, status, log) => {
      const { hold, run, clock, events } = gated({ timeoutMs: 500, onTimeout });
      hold.release();
      await sleeping(clock);
      await clock.advance(499);
      expect(await stillPending(run)).toBe(true);
      await clock.advance(1);
      const result = await run;
      expect(result.status).toBe(status);
      expect(result.state.log).toEqual(log);
      expect(ofType(events, "approval:decided")).toEqual([
        expect.objectContaining({ decision: onTimeout, by: "timeout", actor: undefined }),
      ]);
    },
  );

  it("takes a decision that arrives before the timeout", async () => {
    const { hold, run, clock, interrupts } = gated({ timeoutMs: 500, onTimeout: "reject" });
    hold.release();
    await sleeping(clock);
    await clock.advance(200);
    await interrupts.send("s", { type: "approve" }, { sender: "ana" });
    const result = await run;
    expect(result.status).toBe("completed");
    await clock.advance(1_000);
    expect(result.state.log).toEqual(["draft", "review", "publish"]);
  });

  it("records every turn in the audit trail with actor, content, iteration and time", async () => {
    const { hold, run, agent, interrupts, clock, events } = gated({ timeoutMs: 600_000 });
    hold.release();
    await sleeping(clock);
    await clock.advance(60_000);
    await interrupts.send("s", { type: "request_changes", feedback: "shorter" }, { sender: "ana" });
    await until(() => ofType(events, "approval:requested").length === 2 && clock.pending > 0);
    await clock.advance(60_000);
    await interrupts.send("s", { type: "approve", comment: "good now" }, { sender: "bob" });
    const result = await run;
    expect(result.status).toBe("completed");

    const { items } = await agent.auditTrail("s");
    const turns = items
      .filter((e) => e.kind.startsWith("approval."))
      .map(({ kind, actor, node, iteration, at, data, runId }) => ({
        kind,
        actor,
        node,
        iteration,
        at,
        data,
        runId,
      }));
    // draft is iteration 1, review 2, its re-run 3.
    expect(turns).toEqual([
      {
        kind: "approval.requested",
        actor: undefined,
        node: "review",
        iteration: 2,
        at: 1_000_000,
        data: { revision: 0 },
        runId: result.runId,
      },
      {
        kind: "approval.decided",
        actor: "ana",
        node: "review",
        iteration: 2,
        at: 1_060_000,
        data: { decision: "request_changes", content: "shorter", revision: 0 },
        runId: result.runId,
      },
      {
        kind: "approval.requested",
        actor: undefined,
        node: "review",
        iteration: 3,
        at: 1_060_000,
        data: { revision: 1 },
        runId: result.runId,
      },
      {
        kind: "approval.decided",
        actor: "bob",
        node: "review",
        iteration: 3,
        at: 1_120_000,
        data: { decision: "approve", content: "good now", revision: 1 },
        runId: result.runId,
      },
    ]);
    const received = items.filter((e) => e.kind === "interrupt.received");
    expect(received.map((e) => [e.actor, e.at])).toEqual([
      ["ana", 1_060_000],
      ["bob", 1_120_000],
    ]);
    const applied = items.filter((e) => e.kind === "interrupt.applied");
    expect(applied.map((e) => [e.actor, e.node, e.iteration])).toEqual([
      ["ana", "review", 2],
      ["bob", "review", 3],
    ]);
  });

  it("records the decisions of a suspended gate across resumes, each with its run", async () => {
    const { hold, run, agent, interrupts } = gated();
    hold.release();
    const first = await run;
    await interrupts.send("s", { type: "request_changes", feedback: "shorter" }, { sender: "ana" });
    const second = await agent.resume("s");
    await interrupts.send("s", { type: "approve" }, { sender: "bob" });
    const third = await agent.resume("s");
    expect([first.status, second.status, third.status]).toEqual(["paused", "paused", "completed"]);
    expect(third.state.log).toEqual(["draft", "review:shorter", "publish"]);

    const decisions = (await agent.auditTrail("s")).items.filter(
      (e) => e.kind === "approval.decided",
    );
    expect(decisions.map((e) => [e.actor, e.runId])).toEqual([
      ["ana", second.runId],
      ["bob", third.runId],
    ]);
  });

  it("applies update_state at a gate and keeps waiting for the decision", async () => {
    const { hold, run, interrupts, probe, clock } = gated({ timeoutMs: 600_000 });
    hold.release();
    await sleeping(clock);
    const update = await interrupts.send("s", { type: "update_state", values: { note: "edited" } });
    expect((await decided(update)).status).toBe("applied");
    expect(await stillPending(run)).toBe(true);
    await interrupts.send("s", { type: "approve" });
    const result = await run;
    expect(result.status).toBe("completed");
    expect(probe.executions.find((e) => e.node === "publish")?.state.note).toBe("edited");
  });

  it("ends the run cancelled when a cancel arrives at a waiting gate", async () => {
    const { hold, run, interrupts, clock, probe } = gated({
      timeoutMs: 600_000,
      onTimeout: "reject",
    });
    hold.release();
    await sleeping(clock);
    await interrupts.send("s", { type: "cancel" });
    const result = await run;
    expect(result.status).toBe("cancelled");
    expect(probe.count("publish")).toBe(0);
  });

  it("goes back from a gate and asks again after the node re-ran", async () => {
    const { hold, run, interrupts, clock, probe, events } = gated({ timeoutMs: 600_000 });
    hold.release();
    await sleeping(clock);
    await interrupts.send("s", { type: "go_back", to: "draft" });
    await until(() => ofType(events, "approval:requested").length === 2 && clock.pending > 0);
    await interrupts.send("s", { type: "approve" });
    const result = await run;
    expect(result.state.log).toEqual(["draft", "review", "publish"]);
    expect(probe.counts()).toEqual({ draft: 2, review: 2, publish: 1 });
  });

  it("suspends on a pause at a waiting gate; the resume returns to the gate", async () => {
    const { hold, run, interrupts, clock, agent, probe } = gated({ timeoutMs: 600_000 });
    hold.release();
    await sleeping(clock);
    await interrupts.send("s", { type: "pause" });
    expect((await run).status).toBe("paused");
    expect((await agent.getState("s"))?.meta.pending).toEqual({
      kind: "approval",
      node: "review",
      revisions: 0,
    });
    await interrupts.send("s", { type: "approve" });
    const result = await agent.resume("s");
    expect(result.status).toBe("completed");
    expect(probe.counts()).toEqual({ draft: 1, review: 1, publish: 1 });
  });

  it("keeps the revision count across a suspend and a resume", async () => {
    const { hold, run, agent, interrupts } = gated({ maxRevisions: 1 });
    hold.release();
    await run;
    await interrupts.send("s", { type: "request_changes", feedback: "one" });
    expect((await agent.resume("s")).status).toBe("paused");
    await interrupts.send("s", { type: "request_changes", feedback: "two" });
    const result = await agent.resume("s");
    expect(result.status).toBe("rejected");
    expect(result.state.log).toEqual(["draft", "review:one"]);
  });
});
