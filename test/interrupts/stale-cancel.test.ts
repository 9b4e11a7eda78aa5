import { describe, expect, it } from "vitest";
import {
  GraphAgent,
  InterruptNotApplicableError,
  type InterruptReceipt,
  MemoryStore,
  RunCancelledError,
  type Store,
  silentLogger,
} from "../../src/index.js";
import { CrashableStore, commitWhere, endOfCancelledRun } from "../engine/crashable-store.js";
import { decided, linearGraph, refusedWith, type State, setup } from "./harness.js";

const REASON = "the session was already cancelled when this message arrived";

type Harness = ReturnType<typeof setup>;
type Message = Parameters<Harness["interrupts"]["send"]>[1];
type SendOptions = Parameters<Harness["interrupts"]["send"]>[2];

/**
 * Session "s" runs until it stalls in `b`, and `first` cancels it; `second` is sent when the
 * cancelled run's final checkpoint is about to be written (`"before"`: while `first` ends the
 * run) or has just been (`"after"`). `deafen`: the store's notifier goes down first, so the run
 * does not hear of `second`.
 */
async function cancelledWithSecond(
  first: Message,
  second: Message,
  options: { when?: "before" | "after"; deafen?: boolean; send?: SendOptions } = {},
) {
  const store = new CrashableStore(new MemoryStore());
  const t = setup({ store });
  const stalled = t.probe.stall("b");
  const run = t.agent.run({}, { sessionId: "s" });
  await stalled;
  let late: InterruptReceipt | undefined;
  store[options.when ?? "before"](endOfCancelledRun, async () => {
    if (options.deafen === true) store.deafen();
    late = await t.interrupts.send("s", second, options.send);
  });
  const early = await t.interrupts.send("s", first, options.send);
  const cancelled = await run;
  expect(late).toBeDefined();
  return { t, cancelled, first: early, second: late! };
}

/** Session "s" runs until it enters `b`, `during` sends what it sends, then the run goes on. */
async function heldRun<R>(during: (t: Harness) => Promise<R>) {
  const t = setup();
  const hold = t.probe.hold("b");
  const run = t.agent.run({}, { sessionId: "s" });
  await hold.entered;
  const sent = await during(t);
  hold.release();
  return { t, result: await run, sent };
}

/**
 * An agent over the same store (or `store`, another process's view of it), graph name and probe
 * as `t.agent`, but without an `InterruptService`; `failing`: that node throws instead of running.
 */
function agentWithoutInterrupts(
  t: Harness,
  { failing, store = t.store }: { failing?: string; store?: Store } = {},
) {
  const graph = linearGraph(t.probe, (name) =>
    name === failing
      ? async (): Promise<Partial<State>> => {
          throw new Error(`${name} is down`);
        }
      : t.probe.node(name),
  );
  return new GraphAgent<State>({ graph, store, clock: t.clock, logger: silentLogger });
}

/**
 * Resumes session "s", which runs to its end, and checks that `stale` was refused as sent
 * before the cancel; returns the run's result.
 */
async function resumeRefusing(t: Harness, stale: InterruptReceipt) {
  const resumed = await t.agent.resume("s");
  expect(resumed.status).toBe("completed");
  expect(resumed.state.log).toEqual(["a", "b", "c", "d"]);
  expect((await refusedWith(stale, InterruptNotApplicableError)).message).toContain(REASON);
  return resumed;
}

/** `meta.cancelledAtSeq` of the session's latest checkpoint. */
async function carriedSeq(t: Harness): Promise<number | undefined> {
  const latest = await t.store.checkpoints.latest("s", "");
  return latest?.kind === "unparsable" ? undefined : latest?.meta.cancelledAtSeq;
}

/** The audit entries of the session's refusals. */
async function refusals(t: ReturnType<typeof setup>) {
  const { items } = await t.agent.auditTrail("s", { limit: 500 });
  return items.filter((e) => e.kind === "interrupt.refused");
}

describe("a cancel sent before the session was cancelled", () => {
  it('does not cancel the resumed run when "stop" was sent twice during the cancelled one', async () => {
    // The second "stop" arrives while the first one ends the run.
    const { t, cancelled, first, second } = await cancelledWithSecond("stop", "stop", {
      send: { sender: "ana" },
    });
    expect(cancelled.status).toBe("cancelled");
    expect(await decided(first)).toMatchObject({ status: "applied", action: { type: "cancel" } });
    expect(await t.interrupts.hasPending("s")).toBe(true);

    const resumed = await resumeRefusing(t, second);
    expect(await refusals(t)).toEqual([
      expect.objectContaining({
        actor: "ana",
        runId: resumed.runId,
        data: expect.objectContaining({
          id: second.id,
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
    const { t, cancelled, first, second } = await cancelledWithSecond(
      { type: "cancel", reason: "one" },
      { type: "cancel", reason: "two" },
      { deafen: true },
    );
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.error?.message).toContain("one");
    expect((await decided(first)).status).toBe("applied");
    expect(await t.interrupts.hasPending("s")).toBe(true);

    const resumed = await resumeRefusing(t, second);
    expect(await refusals(t)).toEqual([
      expect.objectContaining({
        runId: resumed.runId,
        data: expect.objectContaining({ id: second.id, code: "INTERRUPT_NOT_APPLICABLE" }),
      }),
    ]);
  });

  it("keeps a stale stop refused when a run ends otherwise before claiming it", async () => {
    const { t, cancelled, second } = await cancelledWithSecond("stop", "stop");
    expect(cancelled.status).toBe("cancelled");
    // A pause is served before free text: the next run pauses at once, the stale stop still queued.
    await t.interrupts.send("s", { type: "pause" });
    const paused = await t.agent.resume("s");
    expect(paused.status).toBe("paused");
    expect(await t.interrupts.hasPending("s")).toBe(true);

    await resumeRefusing(t, second);
  });

  it("counts a stop queued while the cancelled checkpoint is written as sent after it", async () => {
    const {
      t,
      cancelled,
      second: late,
    } = await cancelledWithSecond("stop", "stop", {
      when: "after",
    });
    expect(cancelled.status).toBe("cancelled");

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("cancelled");
    expect(await decided(late)).toMatchObject({ status: "applied", action: { type: "cancel" } });
  });

  it('does not cancel the resumed run with a "stop" sent after a cancel action', async () => {
    const {
      t,
      cancelled,
      first: cancel,
      second: stop,
    } = await cancelledWithSecond({ type: "cancel" }, "stop");
    expect(cancelled.status).toBe("cancelled");
    expect((await decided(cancel)).status).toBe("applied");

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect((await refusedWith(stop, InterruptNotApplicableError)).message).toContain(REASON);
  });

  it("still cancels the resumed run with a cancel sent once the cancelled run had ended", async () => {
    const { t, result } = await heldRun((t) => t.interrupts.send("s", { type: "cancel" }));
    expect(result.status).toBe("cancelled");

    const again = await t.interrupts.send("s", { type: "cancel", reason: "still wrong" });
    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("cancelled");
    expect(resumed.error).toBeInstanceOf(RunCancelledError);
    expect(resumed.error?.message).toContain("still wrong");
    expect(await decided(again)).toMatchObject({ status: "applied", action: { type: "cancel" } });
    expect(t.probe.count("c")).toBe(0);
  });

  it('still cancels the resumed run with a "stop" sent once the cancelled run had ended', async () => {
    const { t, result } = await heldRun((t) => t.interrupts.send("s", "stop"));
    expect(result.status).toBe("cancelled");

    const again = await t.interrupts.send("s", "stop");
    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("cancelled");
    expect(await decided(again)).toMatchObject({ status: "applied", action: { type: "cancel" } });
  });

  it("keeps other actions sent before the cancel, which the resumed run applies", async () => {
    const {
      t,
      result,
      sent: update,
    } = await heldRun(async (t) => {
      await t.interrupts.send("s", { type: "cancel" });
      return t.interrupts.send("s", { type: "update_state", values: { note: "kept" } });
    });
    expect(result.status).toBe("cancelled");

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.note).toBe("kept");
    expect((await decided(update)).status).toBe("applied");
  });

  it("records the queue position in the cancelled checkpoint", async () => {
    const { t, result } = await heldRun(async (t) => {
      await t.interrupts.send("s", { type: "continue" });
      await t.interrupts.send("s", { type: "cancel" });
    });
    expect(result.status).toBe("cancelled");
    const latest = await t.store.checkpoints.latest("s", "");
    expect(latest?.kind === "unparsable" ? undefined : latest?.meta).toMatchObject({
      outcome: { status: "cancelled" },
      cancelledAtSeq: 2,
    });
  });
});

describe("a cancel sent before the session was cancelled, after a run without interrupts", () => {
  it("stays refused when a run by an agent without an InterruptService completes in between", async () => {
    const { t, cancelled, second } = await cancelledWithSecond("stop", "stop");
    expect(cancelled.status).toBe("cancelled");
    expect(await carriedSeq(t)).toBe(2);

    const plain = await agentWithoutInterrupts(t).resume("s");
    expect(plain.status).toBe("completed");
    // That run reads no queue: the stale stop is still there, and the seq is carried on.
    expect(await t.interrupts.hasPending("s")).toBe(true);
    expect(await carriedSeq(t)).toBe(2);

    const again = await t.agent.run({}, { sessionId: "s" });
    expect(again.status).toBe("completed");
    expect(again.state.log).toEqual(["a", "b", "c", "d"]);
    expect((await refusedWith(second, InterruptNotApplicableError)).message).toContain(REASON);

    const fresh = await t.interrupts.send("s", { type: "cancel", reason: "now" });
    const last = await t.agent.run({}, { sessionId: "s" });
    expect(last.status).toBe("cancelled");
    expect(last.error?.message).toContain("now");
    expect(await decided(fresh)).toMatchObject({ status: "applied", action: { type: "cancel" } });
  });

  it("stays refused when a run by an agent without an InterruptService fails in between", async () => {
    const { t, cancelled, second } = await cancelledWithSecond(
      { type: "cancel" },
      { type: "cancel" },
      { deafen: true },
    );
    expect(cancelled.status).toBe("cancelled");

    const failed = await agentWithoutInterrupts(t, { failing: "c" }).resume("s");
    expect(failed.status).toBe("failed");
    expect(await carriedSeq(t)).toBe(2);

    await resumeRefusing(t, second);

    const fresh = await t.interrupts.send("s", { type: "cancel" });
    const last = await t.agent.run({}, { sessionId: "s" });
    expect(last.status).toBe("cancelled");
    expect(await decided(fresh)).toMatchObject({ status: "applied", action: { type: "cancel" } });
  });

  // Both start from a checkpoint written before the cancel, in the same session: the queue is
  // the session's, so the seq comes from the session's latest checkpoint.
  it.each([
    [
      "resumes from an earlier checkpoint",
      (agent: GraphAgent<State>, checkpointId: string) => agent.resume("s", { checkpointId }),
    ],
    [
      "forks the session from an earlier checkpoint",
      (agent: GraphAgent<State>, checkpointId: string) => agent.fork("s", checkpointId),
    ],
  ])("stays refused when an agent without an InterruptService %s", async (_, goOn) => {
    const { t, cancelled, second } = await cancelledWithSecond("stop", "stop");
    expect(cancelled.status).toBe("cancelled");
    const afterA = (await t.store.checkpoints.list("s", "")).find((c) => c.node === "a");
    expect(afterA).toBeDefined();

    const plain = await goOn(agentWithoutInterrupts(t), afterA!.id);
    expect(plain.status).toBe("completed");
    expect(await carriedSeq(t)).toBe(2);

    const again = await t.agent.run({}, { sessionId: "s" });
    expect(again.status).toBe("completed");
    expect((await refusedWith(second, InterruptNotApplicableError)).message).toContain(REASON);
  });

  it("stays refused when a run without an InterruptService dies before writing its end", async () => {
    const { t, cancelled, second } = await cancelledWithSecond("stop", "stop");
    expect(cancelled.status).toBe("cancelled");
    // Another process resumes the session and dies once the step of `c` is stored: the
    // session's latest checkpoint is a step of that run, which carries no number.
    const dying = new CrashableStore(t.store);
    dying.crashAfter(
      commitWhere((batch) => batch.checkpoints?.some((c) => c.node === "c") ?? false),
    );
    await agentWithoutInterrupts(t, { store: dying })
      .resume("s")
      .catch(() => undefined);
    expect(dying.crashed).toBe(true);
    const latest = await t.store.checkpoints.latest("s", "");
    expect(latest).toMatchObject({ status: "running", node: "c" });
    await t.clock.advance(30_000);

    await resumeRefusing(t, second);
    expect(await carriedSeq(t)).toBe(2);
  });

  it("is not carried into another session by a fork: that session's own cancels still count", async () => {
    const { t, cancelled } = await cancelledWithSecond("stop", "stop");
    expect(cancelled.status).toBe("cancelled");
    const afterA = (await t.store.checkpoints.list("s", "")).find((c) => c.node === "a");

    // Sequence numbers are per session: seq 1 of session "t" was sent after nothing was cancelled there.
    const cancel = await t.interrupts.send("t", { type: "cancel" });
    const forked = await t.agent.fork("s", afterA!.id, { toSessionId: "t" });
    expect(forked.status).toBe("cancelled");
    expect(await decided(cancel)).toMatchObject({ status: "applied", action: { type: "cancel" } });
  });
});
