import { describe, expect, it } from "vitest";
import {
  type ApprovalGate,
  InterruptNotApplicableError,
  RevisionLimitError,
  RunRejectedError,
  SessionEndedError,
} from "../../src/index.js";
import {
  decided,
  ofType,
  refusedWith,
  requested,
  reviewGraph,
  setup,
  sleeping,
  stillPending,
  until,
} from "./harness.js";

/** The review graph with a gate on `review`, the run started. */
function gated(gate: ApprovalGate = {}) {
  const t = setup({ graph: reviewGraph, interruptConfig: { approvals: { review: gate } } });
  const run = t.agent.run({}, { sessionId: "s" });
  return { ...t, run };
}

describe("approval gates", () => {
  it("suspends at the gate when no decision is queued and there is no timeout, with the request in the checkpoint", async () => {
    const { run, agent, probe } = gated();
    const result = await run;
    expect(result.status).toBe("paused");
    expect(result.path).toEqual(["draft", "review"]);
    expect(probe.count("publish")).toBe(0);
    const checkpoint = await agent.getState("s");
    expect(checkpoint?.meta.gate).toMatchObject({
      node: "review",
      revision: 0,
      maxRevisions: 3,
      output: { log: ["review"], n: 2 },
      history: [],
    });
    expect(result.gate?.requestId).toBe(checkpoint?.meta.gate?.requestId);
  });

  it("approve lets the run continue along the node's edges", async () => {
    const { run, interrupts, events, agent } = gated();
    expect((await run).status).toBe("paused");
    const receipt = await interrupts.send("s", { type: "approve", comment: "fine" });
    const result = await agent.resume("s");
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["draft", "review", "publish"]);
    expect((await decided(receipt)).status).toBe("applied");
    expect(ofType(events, "approval:decided")).toEqual([
      expect.objectContaining({ node: "review", decision: "approve", by: "human" }),
    ]);
  });

  it("reject ends the run rejected with RunRejectedError", async () => {
    const { run, interrupts, probe, agent } = gated();
    await run;
    await interrupts.send("s", { type: "reject", reason: "off topic" });
    const result = await agent.resume("s");
    expect(result.status).toBe("rejected");
    expect(result.error).toBeInstanceOf(RunRejectedError);
    expect((result.error as RunRejectedError).node).toBe("review");
    expect(result.error?.message).toContain("off topic");
    expect(probe.count("publish")).toBe(0);
  });

  it("reject with onReject follows that edge instead", async () => {
    const { run, interrupts, events, agent } = gated({ onReject: "revise" });
    await run;
    await interrupts.send("s", { type: "reject" });
    const result = await agent.resume("s");
    expect(result.status).toBe("completed");
    expect(result.path).toEqual(["draft", "review", "revise"]);
    expect(ofType(events, "edge:taken").find((e) => e.label === "rejected")).toMatchObject({
      from: "review",
      to: ["revise"],
      reason: "interrupt",
    });
  });

  it("request_changes re-runs the node from the state before it, with the feedback and the output under review", async () => {
    const t = gated({ timeoutMs: 600_000 });
    await requested(t);
    await t.interrupts.send("s", { type: "request_changes", feedback: "shorter" });
    await requested(t, 2);
    await t.interrupts.send("s", { type: "approve" });
    const result = await t.run;

    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["draft", "review:shorter", "publish"]);
    const reviews = t.probe.executions.filter((e) => e.node === "review");
    expect(reviews.map((e) => e.feedback)).toEqual([undefined, "shorter"]);
    expect(reviews[1]?.state).toEqual(reviews[0]?.state);
    expect(reviews[1]?.revision).toEqual({
      number: 1,
      requestId: ofType(t.events, "approval:requested")[0]?.requestId,
      feedback: "shorter",
      history: [{ revision: 0, output: { log: ["review"], n: 2 }, feedback: "shorter" }],
    });
    expect(ofType(t.events, "approval:requested").map((e) => e.revision)).toEqual([0, 1]);
  });

  it("gives the second re-run the outputs and feedback of both earlier rounds, across a suspend and a resume", async () => {
    const { run, agent, interrupts, probe } = gated();
    const first = await run;
    await interrupts.send("s", { type: "request_changes", feedback: "shorter" }, { sender: "ana" });
    const second = await agent.resume("s");
    expect(second.gate?.output).toEqual({ log: ["review:shorter"], n: 2 });
    await interrupts.send("s", { type: "request_changes", feedback: "friendlier" });
    const third = await agent.resume("s");
    expect(third.status).toBe("paused");

    const reviews = probe.executions.filter((e) => e.node === "review");
    expect(reviews).toHaveLength(3);
    // Every round starts from the state before the node, not from the output under review.
    expect(reviews[2]?.state).toEqual(reviews[0]?.state);
    expect(reviews[2]?.feedback).toBe("friendlier");
    expect(reviews[2]?.revision).toEqual({
      number: 2,
      requestId: second.gate?.requestId,
      feedback: "friendlier",
      history: [
        { revision: 0, output: { log: ["review"], n: 2 }, feedback: "shorter" },
        { revision: 1, output: { log: ["review:shorter"], n: 2 }, feedback: "friendlier" },
      ],
    });
    expect(third.gate).toMatchObject({
      revision: 2,
      output: { log: ["review:friendlier"], n: 2 },
      history: reviews[2]?.revision?.history,
    });
    expect(first.gate?.requestId).not.toBe(second.gate?.requestId);
  });

  it("refuses rerun and skip at a gate and keeps waiting", async () => {
    const t = gated({ timeoutMs: 600_000 });
    await requested(t);
    const rerun = await t.interrupts.send("s", { type: "rerun" });
    const skip = await t.interrupts.send("s", { type: "skip" });
    const approve = await t.interrupts.send("s", { type: "approve" });
    expect((await t.run).status).toBe("completed");
    await refusedWith(rerun, InterruptNotApplicableError);
    await refusedWith(skip, InterruptNotApplicableError);
    expect((await decided(approve)).status).toBe("applied");
  });

  it.each([
    ["reject", "rejected", ["draft", "review:one"]],
    ["approve", "completed", ["draft", "review:one", "publish"]],
  ] as const)(
    "refuses request_changes past maxRevisions with RevisionLimitError and applies onRevisionLimit %s",
    async (onRevisionLimit, status, log) => {
      const t = gated({ maxRevisions: 1, onRevisionLimit, timeoutMs: 600_000 });
      await requested(t);
      await t.interrupts.send("s", { type: "request_changes", feedback: "one" }, { sender: "ana" });
      await requested(t, 2);
      const second = await t.interrupts.send(
        "s",
        { type: "request_changes", feedback: "two" },
        { sender: "ana" },
      );
      const result = await t.run;

      expect(result.status).toBe(status);
      expect(result.state.log).toEqual(log);
      expect(t.probe.count("review")).toBe(2);
      const error = await refusedWith(second, RevisionLimitError);
      expect(error.message).toContain(`onRevisionLimit\` (\`${onRevisionLimit}\`)`);
      expect(ofType(t.events, "approval:decided").at(-1)).toMatchObject({
        decision: onRevisionLimit,
        by: "revision-limit",
        actor: undefined,
      });
      const { items } = await t.agent.auditTrail("s");
      const decisions = items.filter((e) => e.kind === "approval.decided");
      expect(decisions.map((e) => [e.actor, e.data])).toEqual([
        [
          "ana",
          expect.objectContaining({
            decision: "request_changes",
            content: "one",
            revision: 0,
            by: "human",
          }),
        ],
        [
          undefined,
          expect.objectContaining({ decision: onRevisionLimit, revision: 1, by: "revision-limit" }),
        ],
      ]);
      expect(items.find((e) => e.kind === "interrupt.refused")?.data).toMatchObject({
        id: second.id,
        code: "REVISION_LIMIT",
      });
    },
  );

  it.each([
    ["approve", "completed", ["draft", "review", "publish"]],
    ["reject", "rejected", ["draft", "review"]],
  ] as const)(
    "applies onTimeout %s when no decision arrives within timeoutMs",
    async (onTimeout, status, log) => {
      const t = gated({ timeoutMs: 500, onTimeout });
      await requested(t);
      await t.clock.advance(499);
      expect(await stillPending(t.run)).toBe(true);
      await t.clock.advance(1);
      const result = await t.run;
      expect(result.status).toBe(status);
      expect(result.state.log).toEqual(log);
      expect(ofType(t.events, "approval:decided")).toEqual([
        expect.objectContaining({ decision: onTimeout, by: "timeout", actor: undefined }),
      ]);
    },
  );

  it("takes a decision that arrives before the timeout", async () => {
    const t = gated({ timeoutMs: 500, onTimeout: "reject" });
    await requested(t);
    await t.clock.advance(200);
    await t.interrupts.send("s", { type: "approve" }, { sender: "ana" });
    const result = await t.run;
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["draft", "review", "publish"]);
  });

  it("records every turn in the audit trail with actor, content, iteration and time", async () => {
    const t = gated({ timeoutMs: 600_000 });
    await requested(t);
    await t.clock.advance(60_000);
    await t.interrupts.send(
      "s",
      { type: "request_changes", feedback: "shorter" },
      { sender: "ana" },
    );
    await requested(t, 2);
    await t.clock.advance(60_000);
    await t.interrupts.send("s", { type: "approve", comment: "good now" }, { sender: "bob" });
    const result = await t.run;
    expect(result.status).toBe("completed");

    const [first, second] = ofType(t.events, "approval:requested").map((e) => e.requestId);
    const { items } = await t.agent.auditTrail("s");
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
        data: { requestId: first, revision: 0, maxRevisions: 3 },
        runId: result.runId,
      },
      {
        kind: "approval.decided",
        actor: "ana",
        node: "review",
        iteration: 2,
        at: 1_060_000,
        data: {
          requestId: first,
          decision: "request_changes",
          by: "human",
          content: "shorter",
          revision: 0,
        },
        runId: result.runId,
      },
      {
        kind: "approval.requested",
        actor: undefined,
        node: "review",
        iteration: 3,
        at: 1_060_000,
        data: { requestId: second, revision: 1, maxRevisions: 3 },
        runId: result.runId,
      },
      {
        kind: "approval.decided",
        actor: "bob",
        node: "review",
        iteration: 3,
        at: 1_120_000,
        data: {
          requestId: second,
          decision: "approve",
          by: "human",
          content: "good now",
          revision: 1,
        },
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
    const { run, agent, interrupts } = gated();
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
    const t = gated({ timeoutMs: 600_000 });
    await requested(t);
    const update = await t.interrupts.send("s", {
      type: "update_state",
      values: { note: "edited" },
    });
    expect((await decided(update)).status).toBe("applied");
    expect(await stillPending(t.run)).toBe(true);
    await t.interrupts.send("s", { type: "approve" });
    const result = await t.run;
    expect(result.status).toBe("completed");
    expect(t.probe.executions.find((e) => e.node === "publish")?.state.note).toBe("edited");
  });

  it("ends the run cancelled when a cancel arrives at a waiting gate, and a resume goes back to the gate", async () => {
    const t = gated({ timeoutMs: 600_000, onTimeout: "reject" });
    await requested(t);
    await t.interrupts.send("s", { type: "cancel" });
    const result = await t.run;
    expect(result.status).toBe("cancelled");
    expect(result.gate?.node).toBe("review");
    expect(t.probe.count("publish")).toBe(0);
    expect((await t.agent.getState("s"))?.meta.gate?.node).toBe("review");

    const resumed = t.agent.resume("s");
    await sleeping(t.clock);
    expect(t.probe.count("publish")).toBe(0);
    await t.interrupts.send("s", { type: "approve" });
    expect((await resumed).status).toBe("completed");
    expect(t.probe.counts()).toEqual({ draft: 1, review: 1, publish: 1 });
  });

  it("goes back from a gate and asks again after the node re-ran", async () => {
    const t = gated({ timeoutMs: 600_000 });
    await requested(t);
    await t.interrupts.send("s", { type: "go_back", to: "draft" });
    await requested(t, 2);
    await t.interrupts.send("s", { type: "approve" });
    const result = await t.run;
    expect(result.state.log).toEqual(["draft", "review", "publish"]);
    expect(t.probe.counts()).toEqual({ draft: 2, review: 2, publish: 1 });
  });

  it("suspends on a pause at a waiting gate; the resume returns to the gate", async () => {
    const t = gated({ timeoutMs: 600_000 });
    await requested(t);
    await t.interrupts.send("s", { type: "pause" });
    expect((await t.run).status).toBe("paused");
    const gate = (await t.agent.getState("s"))?.meta.gate;
    expect(gate).toMatchObject({ node: "review", revision: 0 });
    await t.interrupts.send("s", { type: "approve" });
    const result = await t.agent.resume("s");
    expect(result.status).toBe("completed");
    expect(t.probe.counts()).toEqual({ draft: 1, review: 1, publish: 1 });
  });

  it("keeps the revision count across a suspend and a resume", async () => {
    const { run, agent, interrupts } = gated({ maxRevisions: 1 });
    await run;
    await interrupts.send("s", { type: "request_changes", feedback: "one" });
    expect((await agent.resume("s")).status).toBe("paused");
    await interrupts.send("s", { type: "request_changes", feedback: "two" });
    const result = await agent.resume("s");
    expect(result.status).toBe("rejected");
    expect(result.state.log).toEqual(["draft", "review:one"]);
  });

  it("a resume after a reject refuses with SessionEndedError and never runs the node after the gate", async () => {
    const { run, agent, interrupts, probe } = gated();
    await run;
    await interrupts.send("s", { type: "reject", reason: "no" });
    expect((await agent.resume("s")).status).toBe("rejected");
    const error = await agent.resume("s").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionEndedError);
    expect((error as SessionEndedError).message).toContain("fork");
    expect(probe.count("publish")).toBe(0);
    // Not with a checkpoint id either.
    const history = await agent.history("s");
    await expect(agent.resume("s", { checkpointId: history[1]!.id })).rejects.toBeInstanceOf(
      SessionEndedError,
    );
    expect(probe.count("publish")).toBe(0);
  });

  it("a resume after the revision limit rejected refuses too", async () => {
    const { run, agent, interrupts, probe } = gated({ maxRevisions: 0 });
    await run;
    await interrupts.send("s", { type: "request_changes", feedback: "more" });
    expect((await agent.resume("s")).status).toBe("rejected");
    await expect(agent.resume("s")).rejects.toBeInstanceOf(SessionEndedError);
    expect(probe.count("publish")).toBe(0);
  });

  it("goes on after a reject only through a fork, which the audit trail records", async () => {
    const { run, agent, interrupts, probe } = gated();
    await run;
    await interrupts.send("s", { type: "reject" });
    const rejected = await agent.resume("s");
    const forked = await agent.fork("s", rejected.checkpointId!, { actor: "lead" });
    expect(forked.status).toBe("completed");
    expect(probe.count("publish")).toBe(1);
    const { items } = await agent.auditTrail("s");
    expect(items.find((e) => e.kind === "run.forked")).toMatchObject({
      actor: "lead",
      data: { from: { sessionId: "s", checkpointId: rejected.checkpointId } },
    });
  });

  it("waits at a timed gate without holding up the clock for other timers", async () => {
    const t = gated({ timeoutMs: 600_000 });
    await requested(t);
    // Two sleepers: the lease heartbeat and the gate's one timer. Nothing spins.
    expect(t.clock.pending).toBe(2);
    await until(() => t.clock.pending === 2);
    await t.interrupts.send("s", { type: "approve" });
    expect((await t.run).status).toBe("completed");
  });
});
