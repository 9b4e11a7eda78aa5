import { describe, expect, it } from "vitest";
import { StaleDecisionError } from "../../src/index.js";
import { decided, ofType, refusedNamed, refusedWith, reviewGraph, setup } from "./harness.js";

/** The review graph with a suspending gate on `review`, run to its first request. */
async function atFirstRequest() {
  const t = setup({ graph: reviewGraph, interruptConfig: { approvals: { review: {} } } });
  const first = await t.agent.run({}, { sessionId: "s" });
  expect(first.status).toBe("paused");
  return { ...t, request: first.gate!.requestId };
}

describe("approval requests have an identity", () => {
  it.each([
    ["with a check before every node", {}, "InterruptNotApplicableError"],
    ["when the next read is at the new request", { nodes: ["publish"] }, "StaleDecisionError"],
  ])(
    "does not let an approve meant for revision 0 approve revision 1 (%s)",
    async (_where, config, refusal) => {
      const t = setup({
        graph: reviewGraph,
        interruptConfig: { ...config, approvals: { review: {} } },
      });
      expect((await t.agent.run({}, { sessionId: "s" })).status).toBe("paused");
      const changes = await t.interrupts.send(
        "s",
        { type: "request_changes", feedback: "shorter" },
        { sender: "bob" },
      );
      // Sent while revision 0 was the open request, read after it was replaced.
      const approve = await t.interrupts.send("s", { type: "approve" }, { sender: "ana" });
      const result = await t.agent.resume("s");

      expect((await decided(changes)).status).toBe("applied");
      await refusedNamed(approve, refusal);
      expect(result.status).toBe("paused");
      expect(result.gate).toMatchObject({ node: "review", revision: 1 });
      expect(t.probe.count("publish")).toBe(0);
    },
  );

  it("refuses an approve naming revision 0's request once revision 1 is open", async () => {
    const t = await atFirstRequest();
    await t.interrupts.send("s", { type: "request_changes", feedback: "shorter" });
    const second = await t.agent.resume("s");
    expect(second.gate?.revision).toBe(1);
    const approve = await t.interrupts.send("s", { type: "approve", requestId: t.request });
    const third = await t.agent.resume("s");
    await refusedWith(approve, StaleDecisionError);
    expect(third.status).toBe("paused");
    expect(t.probe.count("publish")).toBe(0);
  });

  it("applies a decision naming the open request, even one queued before it was made", async () => {
    const t = setup({
      graph: reviewGraph,
      interruptConfig: { approvals: { review: { timeoutMs: 60_000 } } },
    });
    const hold = t.probe.hold("review");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    // Request ids are `${runId}.${iteration}`: review is the run's second node.
    const runId = ofType(t.events, "run:started")[0]!.runId;
    const approve = await t.interrupts.send("s", { type: "approve", requestId: `${runId}.2` });
    hold.release();
    const result = await run;
    expect(result.status).toBe("completed");
    expect(ofType(t.events, "approval:requested")[0]?.requestId).toBe(`${runId}.2`);
    expect((await decided(approve)).status).toBe("applied");
  });

  it("refuses a decision naming a request that is not open, and keeps waiting", async () => {
    const t = await atFirstRequest();
    const wrong = await t.interrupts.send("s", { type: "reject", requestId: "someone-else.7" });
    const right = await t.interrupts.send("s", { type: "approve", requestId: t.request });
    const result = await t.agent.resume("s");
    const error = await refusedWith(wrong, StaleDecisionError);
    expect(error.message).toContain("someone-else.7");
    expect((await decided(right)).status).toBe("applied");
    expect(result.status).toBe("completed");
  });

  it("refuses a decision naming no request that was queued before the request was made", async () => {
    const t = setup({ graph: reviewGraph, interruptConfig: { approvals: { review: {} } } });
    const hold = t.probe.hold("review");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const early = await t.interrupts.send("s", { type: "approve" });
    hold.release();
    const result = await run;
    await refusedWith(early, StaleDecisionError);
    expect(result.status).toBe("paused");
    expect(t.probe.count("publish")).toBe(0);
  });
});
