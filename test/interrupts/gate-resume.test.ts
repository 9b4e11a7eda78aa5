import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/entries/testing.js";
import { InterruptService, MemoryStore, SessionEndedError, silentLogger } from "../../src/index.js";
import { CrashableStore } from "../engine/crashable-store.js";
import { turns } from "../graph/helpers.js";
import { decided, ofType, requested, reviewGraph, setup, sleeping, until } from "./harness.js";

/**
 * A resume must never slip past the human: whatever ended the run at a gate, the next run either
 * waits at that gate again or refuses to run at all.
 */
describe("resuming at an approval gate", () => {
  it("does not slip past a gate whose timed wait died with its process", async () => {
    const underlying = new MemoryStore();
    const dying = new CrashableStore(underlying);
    const gate = { approvals: { review: { timeoutMs: 60_000 } } };
    const first = setup({
      graph: reviewGraph,
      store: dying,
      interruptConfig: gate,
      leaseTtlMs: 1_000,
    });
    const run = first.agent.run({}, { sessionId: "s" });
    await requested(first);
    dying.crash();

    // The request is in the latest checkpoint, written before anyone waited.
    const latest = await underlying.checkpoints.latest("s", "");
    expect(latest?.status).toBe("running");
    expect(latest?.meta?.gate).toEqual({
      requestId: expect.any(String),
      node: "review",
      revision: 0,
      maxRevisions: 3,
      output: { log: ["review"], n: 2 },
      history: [],
      openedAt: 1_000_000,
      queueSeq: 0,
      deadline: 1_060_000,
    });

    // Another process takes the session over once the dead one's lease ran out.
    await first.clock.advance(1_000);
    const second = setup({
      graph: reviewGraph,
      store: underlying,
      probe: first.probe,
      // Its own clock (at the same time), so its sleepers are its own.
      clock: new SimulatedClock(first.clock.now()),
      interruptConfig: gate,
      leaseTtlMs: 1_000,
    });
    const resumed = second.agent.resume("s");
    await until(() => ofType(second.events, "run:started").length === 1);
    await sleeping(second.clock);
    // It waits at the gate: nothing after it ran, and the gated node did not run again.
    expect(first.probe.counts()).toEqual({ draft: 1, review: 1 });
    const approve = await second.interrupts.send("s", { type: "approve" }, { sender: "ana" });
    const result = await resumed;
    expect(result.status).toBe("completed");
    expect(first.probe.counts()).toEqual({ draft: 1, review: 1, publish: 1 });
    expect((await decided(approve)).status).toBe("applied");
    // The dead run never got to write anything after the crash.
    await first.clock.runAll();
    await turns(5);
    const outcome = await run;
    expect(outcome.status).not.toBe("completed");
    await expect(second.agent.resume("s")).rejects.toBeInstanceOf(SessionEndedError);
  });

  it("applies a decision the dead process had claimed but not settled, at the gate, after the takeover", async () => {
    const underlying = new MemoryStore();
    const dying = new CrashableStore(underlying);
    const gate = { approvals: { review: { timeoutMs: 60_000 } } };
    const first = setup({
      graph: reviewGraph,
      store: dying,
      interruptConfig: gate,
      leaseTtlMs: 1_000,
    });
    void first.agent.run({}, { sessionId: "s" });
    await requested(first);
    // The process dies right after it took the approve from the queue.
    dying.crashAfter((call) => call.name === "interrupts.claim" && call.result !== undefined);
    const elsewhere = new InterruptService({
      store: underlying,
      clock: first.clock,
      logger: silentLogger,
    });
    const approve = await elsewhere.send("s", { type: "approve" }, { sender: "ana" });
    await until(() => dying.crashed);
    expect((await underlying.interrupts.get(approve.id))?.state).toBe("claimed");

    await first.clock.advance(1_000);
    const second = setup({
      graph: reviewGraph,
      store: underlying,
      probe: first.probe,
      clock: new SimulatedClock(first.clock.now()),
      interruptConfig: gate,
      leaseTtlMs: 1_000,
    });
    const result = await second.agent.resume("s");
    expect(result.status).toBe("completed");
    expect(first.probe.counts()).toEqual({ draft: 1, review: 1, publish: 1 });
    expect(await decided(approve)).toMatchObject({
      status: "applied",
      action: { type: "approve" },
    });
    await first.clock.runAll();
  });

  it("waits at the gate again after a wait-pause at the gate timed out into a suspend", async () => {
    const t = setup({
      graph: reviewGraph,
      interruptConfig: { approvals: { review: { timeoutMs: 10_000, onTimeout: "reject" } } },
    });
    const run = t.agent.run({}, { sessionId: "s" });
    await requested(t);
    await t.interrupts.send("s", { type: "pause", mode: "wait", timeoutMs: 100 });
    await sleeping(t.clock);
    await t.clock.advance(100);
    const paused = await run;
    expect(paused.status).toBe("paused");
    expect(paused.gate?.node).toBe("review");

    const resumed = t.agent.resume("s");
    await sleeping(t.clock);
    expect(t.probe.counts()).toEqual({ draft: 1, review: 1 });
    await t.interrupts.send("s", { type: "approve" });
    expect((await resumed).status).toBe("completed");
    expect(t.probe.counts()).toEqual({ draft: 1, review: 1, publish: 1 });
  });
});
