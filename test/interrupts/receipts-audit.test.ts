import { describe, expect, it } from "vitest";
import { type InterruptReasoner, ReasonerOutputError, RunEndedError } from "../../src/index.js";
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
