import { describe, expect, it } from "vitest";
import { InterruptService, MemoryStore, type Store, silentLogger } from "../../src/index.js";
import { CrashableStore } from "../engine/crashable-store.js";
import { settlesSoon } from "../graph/helpers.js";
import {
  decided,
  ofType,
  refusedNamed,
  requested,
  reviewGraph,
  setup,
  sleeping,
  stillPending,
} from "./harness.js";

/** Another process's service over the same store (`store`: its own view of it). */
function elsewhere(t: ReturnType<typeof setup>, store: Store = t.store) {
  return new InterruptService({ store, clock: t.clock, logger: silentLogger });
}

describe("decisions sent from elsewhere", () => {
  it("wakes a timed gate with an approve sent through another InterruptService", async () => {
    const t = setup({
      graph: reviewGraph,
      interruptConfig: { approvals: { review: { timeoutMs: 60_000 } } },
    });
    const run = t.agent.run({}, { sessionId: "s" });
    await requested(t);
    const approve = await elsewhere(t).send("s", { type: "approve" }, { sender: "bob" });
    // No time passes: the store's notifier wakes the run.
    expect(await settlesSoon(run)).toBe(true);
    expect((await run).status).toBe("completed");
    expect(await decided(approve)).toMatchObject({ status: "applied" });
    expect(ofType(t.events, "approval:decided")).toEqual([
      expect.objectContaining({ decision: "approve", by: "human", actor: "bob" }),
    ]);
  });

  it("wakes a wait-pause with a resume sent through another InterruptService", async () => {
    const t = setup();
    const hold = t.probe.hold("a");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "pause", mode: "wait", timeoutMs: 60_000 });
    hold.release();
    await sleeping(t.clock);
    const resume = await elsewhere(t).send("s", { type: "resume" });
    expect(await settlesSoon(run)).toBe(true);
    expect((await run).status).toBe("completed");
    expect((await decided(resume)).status).toBe("applied");
  });

  it("lets a queued approve beat the timeout default even when no notifier event woke the gate", async () => {
    const store = new CrashableStore(new MemoryStore());
    const t = setup({
      graph: reviewGraph,
      store,
      interruptConfig: { approvals: { review: { timeoutMs: 500, onTimeout: "reject" } } },
    });
    const run = t.agent.run({}, { sessionId: "s" });
    await requested(t);
    // The event is lost on its way (a listening connection was down): only the timeout wakes
    // the gate, which then reads the queue once more before the default applies.
    store.deafen();
    const approve = await t.interrupts.send("s", { type: "approve" }, { sender: "ana" });
    expect(await stillPending(run)).toBe(true);
    await t.clock.advance(500);
    const result = await run;
    expect(result.status).toBe("completed");
    expect(await decided(approve)).toMatchObject({ status: "applied" });
    expect(ofType(t.events, "approval:decided")).toEqual([
      expect.objectContaining({ decision: "approve", by: "human", actor: "ana" }),
    ]);
  });

  it("does not leak a queued approve into the next run of the session", async () => {
    const underlying = new MemoryStore();
    const store = new CrashableStore(underlying);
    const t = setup({
      graph: reviewGraph,
      store,
      interruptConfig: { approvals: { review: { timeoutMs: 500, onTimeout: "approve" } } },
    });
    const first = t.agent.run({}, { sessionId: "s" });
    await requested(t);
    store.deafen();
    const approve = await elsewhere(t, underlying).send("s", { type: "approve" });
    await t.clock.advance(500);
    expect((await first).status).toBe("completed");
    expect((await decided(approve)).status).toBe("applied");
    expect(ofType(t.events, "approval:decided").map((e) => e.by)).toEqual(["human"]);

    // The next run asks afresh and waits: nothing left over decides its gate.
    const second = t.agent.run({}, { sessionId: "s" });
    await requested(t, 2);
    expect(await stillPending(second)).toBe(true);
    await t.clock.advance(500);
    expect((await second).status).toBe("completed");
    expect(ofType(t.events, "approval:decided").map((e) => e.by)).toEqual(["human", "timeout"]);
    expect(await t.interrupts.hasPending("s")).toBe(false);
  });

  it("applies a gate decision sent during a wait-pause at the gate", async () => {
    const t = setup({
      graph: reviewGraph,
      interruptConfig: { approvals: { review: { timeoutMs: 60_000, onTimeout: "reject" } } },
    });
    const run = t.agent.run({}, { sessionId: "s" });
    await requested(t);
    const pause = await t.interrupts.send("s", { type: "pause", mode: "wait", timeoutMs: 30_000 });
    expect((await decided(pause)).status).toBe("applied");
    await sleeping(t.clock);
    const approve = await elsewhere(t).send("s", { type: "approve" }, { sender: "ana" });
    expect(await settlesSoon(run)).toBe(true);
    const result = await run;
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["draft", "review", "publish"]);
    expect(await decided(approve)).toMatchObject({ status: "applied" });
    expect(ofType(t.events, "approval:decided")).toEqual([
      expect.objectContaining({ decision: "approve", by: "human", actor: "ana" }),
    ]);
  });

  it("refuses a decision for a gate that is no longer open when it is read during a wait-pause", async () => {
    const t = setup();
    const hold = t.probe.hold("a");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "pause", mode: "wait", timeoutMs: 30_000 });
    hold.release();
    await sleeping(t.clock);
    const approve = await elsewhere(t).send("s", { type: "approve" });
    const resume = await elsewhere(t).send("s", { type: "resume" });
    expect((await run).status).toBe("completed");
    await refusedNamed(approve, "InterruptNotApplicableError");
    expect((await decided(resume)).status).toBe("applied");
  });

  it("lets a queued resume beat the pause's timeout default even when no notifier event woke it", async () => {
    const underlying = new MemoryStore();
    const store = new CrashableStore(underlying);
    const t = setup({ store, interruptConfig: { onPauseTimeout: "cancel" } });
    const hold = t.probe.hold("a");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "pause", mode: "wait", timeoutMs: 500 });
    hold.release();
    await sleeping(t.clock);
    store.deafen();
    const resume = await elsewhere(t, underlying).send("s", { type: "resume" });
    expect(await stillPending(run)).toBe(true);
    await t.clock.advance(500);
    expect((await run).status).toBe("completed");
    expect((await decided(resume)).status).toBe("applied");
  });
});
