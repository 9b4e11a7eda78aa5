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
