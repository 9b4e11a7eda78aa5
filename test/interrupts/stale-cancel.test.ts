import { describe, expect, it } from "vitest";
import {
  InterruptNotApplicableError,
  type InterruptReceipt,
  MemoryStore,
  RunCancelledError,
} from "../../src/index.js";
import { CrashableStore, endOfCancelledRun } from "../engine/crashable-store.js";
import { decided, refusedWith, setup } from "./harness.js";

const REASON = "the session was already cancelled when this message arrived";

/** The audit entries of the session's refusals. */
async function refusals(t: ReturnType<typeof setup>) {
  const { items } = await t.agent.auditTrail("s", { limit: 500 });
  return items.filter((e) => e.kind === "interrupt.refused");
}

describe("a cancel sent before the session was cancelled", () => {
  it('does not cancel the resumed run when "stop" was sent twice during the cancelled one', async () => {
    const store = new CrashableStore(new MemoryStore());
    const t = setup({ store });
    const stalled = t.probe.stall("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await stalled;
    // The second "stop" arrives while the first one ends the run.
    let second: InterruptReceipt | undefined;
    store.before(endOfCancelledRun, async () => {
      second = await t.interrupts.send("s", "stop", { sender: "ana" });
    });
    const first = await t.interrupts.send("s", "stop", { sender: "ana" });
    expect((await run).status).toBe("cancelled");
    expect(await decided(first)).toMatchObject({ status: "applied", action: { type: "cancel" } });
    expect(second).toBeDefined();
    expect(await t.interrupts.hasPending("s")).toBe(true);

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.log).toEqual(["a", "b", "c", "d"]);
    const error = await refusedWith(second!, InterruptNotApplicableError);
    expect(error.message).toContain(REASON);
    expect(await refusals(t)).toEqual([
      expect.objectContaining({
        actor: "ana",
        runId: resumed.runId,
        data: expect.objectContaining({
          id: second!.id,
          code: "INTERRUPT_NOT_APPLICABLE",
          message: expect.stringContaining(REASON),
        }),
      }),
    ]);
    expect(await t.interrupts.metrics("s")).toMatchObject({ depth: 0, applied: 1, refused: 1 });
  });

  it("does not cancel the resumed run with a second cancel action the cancelled run left queued", async () => {
    // The run does not hear of the second one (its notifier went down in between): once
    // cancelled it takes nothing more from the queue, so the second one stays there.
    const store = new CrashableStore(new MemoryStore());
    const t = setup({ store });
    const stalled = t.probe.stall("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await stalled;
    let second: InterruptReceipt | undefined;
    store.before(endOfCancelledRun, async () => {
      store.deafen();
      second = await t.interrupts.send("s", { type: "cancel", reason: "two" });
    });
    const first = await t.interrupts.send("s", { type: "cancel", reason: "one" });
    const cancelled = await run;
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.error?.message).toContain("one");
    expect((await decided(first)).status).toBe("applied");
    expect(await t.interrupts.hasPending("s")).toBe(true);

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.log).toEqual(["a", "b", "c", "d"]);
    const error = await refusedWith(second!, InterruptNotApplicableError);
    expect(error.message).toContain(REASON);
    expect(await refusals(t)).toEqual([
      expect.objectContaining({
        runId: resumed.runId,
        data: expect.objectContaining({ id: second!.id, code: "INTERRUPT_NOT_APPLICABLE" }),
      }),
    ]);
  });

  it("keeps a stale stop refused when a run ends otherwise before claiming it", async () => {
    const store = new CrashableStore(new MemoryStore());
    const t = setup({ store });
    const stalled = t.probe.stall("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await stalled;
    let second: InterruptReceipt | undefined;
    store.before(endOfCancelledRun, async () => {
      second = await t.interrupts.send("s", "stop");
    });
    await t.interrupts.send("s", "stop");
    expect((await run).status).toBe("cancelled");
    // A pause is served before free text: the next run pauses at once, the stale stop still queued.
    await t.interrupts.send("s", { type: "pause" });
    const paused = await t.agent.resume("s");
    expect(paused.status).toBe("paused");
    expect(await t.interrupts.hasPending("s")).toBe(true);

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.log).toEqual(["a", "b", "c", "d"]);
    const error = await refusedWith(second!, InterruptNotApplicableError);
    expect(error.message).toContain(REASON);
  });

  it("counts a stop queued while the cancelled checkpoint is written as sent after it", async () => {
    const store = new CrashableStore(new MemoryStore());
    const t = setup({ store });
    const stalled = t.probe.stall("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await stalled;
    let late: InterruptReceipt | undefined;
    store.after(endOfCancelledRun, async () => {
      late = await t.interrupts.send("s", "stop");
    });
    await t.interrupts.send("s", "stop");
    expect((await run).status).toBe("cancelled");

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("cancelled");
    expect(await decided(late!)).toMatchObject({ status: "applied", action: { type: "cancel" } });
  });

  it('does not cancel the resumed run with a "stop" sent after a cancel action', async () => {
    const store = new CrashableStore(new MemoryStore());
    const t = setup({ store });
    const stalled = t.probe.stall("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await stalled;
    let stop: InterruptReceipt | undefined;
    store.before(endOfCancelledRun, async () => {
      stop = await t.interrupts.send("s", "stop");
    });
    const cancel = await t.interrupts.send("s", { type: "cancel" });
    expect((await run).status).toBe("cancelled");
    expect((await decided(cancel)).status).toBe("applied");

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect((await refusedWith(stop!, InterruptNotApplicableError)).message).toContain(REASON);
  });

  it("still cancels the resumed run with a cancel sent once the cancelled run had ended", async () => {
    const t = setup();
    const hold = t.probe.hold("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "cancel" });
    hold.release();
    expect((await run).status).toBe("cancelled");

    const again = await t.interrupts.send("s", { type: "cancel", reason: "still wrong" });
    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("cancelled");
    expect(resumed.error).toBeInstanceOf(RunCancelledError);
    expect(resumed.error?.message).toContain("still wrong");
    expect(await decided(again)).toMatchObject({ status: "applied", action: { type: "cancel" } });
    expect(t.probe.count("c")).toBe(0);
  });

  it('still cancels the resumed run with a "stop" sent once the cancelled run had ended', async () => {
    const t = setup();
    const hold = t.probe.hold("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", "stop");
    hold.release();
    expect((await run).status).toBe("cancelled");

    const again = await t.interrupts.send("s", "stop");
    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("cancelled");
    expect(await decided(again)).toMatchObject({ status: "applied", action: { type: "cancel" } });
  });

  it("keeps other actions sent before the cancel, which the resumed run applies", async () => {
    const t = setup();
    const hold = t.probe.hold("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "cancel" });
    const update = await t.interrupts.send("s", {
      type: "update_state",
      values: { note: "kept" },
    });
    hold.release();
    expect((await run).status).toBe("cancelled");

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.note).toBe("kept");
    expect((await decided(update)).status).toBe("applied");
  });

  it("records the queue position in the cancelled checkpoint", async () => {
    const t = setup();
    const hold = t.probe.hold("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "continue" });
    await t.interrupts.send("s", { type: "cancel" });
    hold.release();
    expect((await run).status).toBe("cancelled");
    const latest = await t.store.checkpoints.latest("s", "");
    expect(latest?.kind === "unparsable" ? undefined : latest?.meta).toMatchObject({
      outcome: { status: "cancelled" },
      cancelledAtSeq: 2,
    });
  });
});
