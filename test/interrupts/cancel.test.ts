import { describe, expect, it } from "vitest";
import {
  type GenerateOptions,
  type ModelClient,
  ModelReasoner,
  type ModelRequest,
  type ModelResponse,
  QueueFullError,
  RunCancelledError,
  silentLogger,
} from "../../src/index.js";
import { deferred, settlesSoon, turns } from "../graph/helpers.js";
import { decided, setup, sleeping, until } from "./harness.js";

/** A model whose every call takes 2 s of real time unless its signal aborts it first. */
class SlowModel implements ModelClient {
  readonly provider = "fake";
  readonly model = "slow";
  readonly started = deferred<void>();
  abortedAfterMs: number | undefined;
  calls = 0;

  async generate(_request: ModelRequest, options: GenerateOptions = {}): Promise<ModelResponse> {
    this.calls++;
    this.started.resolve();
    const { signal } = options;
    const begun = performance.now();
    return new Promise<ModelResponse>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          resolve({
            text: "{}",
            data: { action: "continue", confidence: 1, reasoning: "" },
            model: "slow",
          }),
        2_000,
      );
      signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          this.abortedAfterMs = performance.now() - begun;
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
}

describe("cancel", () => {
  it("aborts a slow node at once through ctx.signal and ends the run cancelled", async () => {
    const { agent, interrupts, probe } = setup();
    const stalled = probe.stall("b");
    const run = agent.run({}, { sessionId: "s" });
    const ctx = await stalled;
    expect(ctx.signal.aborted).toBe(false);

    await interrupts.send("s", { type: "cancel", reason: "wrong topic" }, { sender: "ana" });
    expect(ctx.signal.aborted).toBe(true);
    expect(await settlesSoon(run)).toBe(true);

    const result = await run;
    expect(result.status).toBe("cancelled");
    expect(result.error).toBeInstanceOf(RunCancelledError);
    expect(result.error?.message).toContain("wrong topic");
    expect(result.state.log).toEqual(["a"]);
    expect(probe.count("c")).toBe(0);
    expect((await agent.getState("s"))?.status).toBe("cancelled");
  });

  it("settles the receipt of the cancel that aborted the node", async () => {
    const { agent, interrupts, probe } = setup();
    const stalled = probe.stall("b");
    const run = agent.run({}, { sessionId: "s" });
    await stalled;
    const receipt = await interrupts.send("s", { type: "cancel" });
    expect((await run).status).toBe("cancelled");
    expect(await decided(receipt)).toMatchObject({ status: "applied", action: { type: "cancel" } });
    expect(await interrupts.hasPending("s")).toBe(false);
  });

  it("does not cancel the resumed run again with the cancel that ended the last one", async () => {
    const { agent, interrupts, probe } = setup();
    const stalled = probe.stall("b");
    const run = agent.run({}, { sessionId: "s" });
    await stalled;
    await interrupts.send("s", { type: "cancel" });
    expect((await run).status).toBe("cancelled");

    const resumed = await agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.log).toEqual(["a", "b", "c", "d"]);
  });

  it("ends a run that waits in a wait-pause, at once and as cancelled", async () => {
    const { agent, interrupts, probe, clock } = setup();
    const hold = probe.hold("a");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "pause", mode: "wait" });
    hold.release();
    await sleeping(clock);

    await interrupts.send("s", { type: "cancel" });
    const ended = await settlesSoon(run);
    if (!ended) await clock.runAll(); // let the pause time out so the run does not leak
    expect(ended).toBe(true);
    expect((await run).status).toBe("cancelled");
  });

  it("ends the run cancelled when a cancel is queued before the run, even with a pause behind it", async () => {
    const { agent, interrupts, probe } = setup();
    const cancel = await interrupts.send("s", { type: "cancel" });
    await interrupts.send("s", { type: "pause" });
    const result = await agent.run({}, { sessionId: "s" });
    expect((await decided(cancel)).status).toBe("applied");
    expect(result.status).toBe("cancelled");
    expect(probe.count("a")).toBe(0);
  });

  it("is obeyed around nodes the config does not listen to", async () => {
    const { agent, interrupts, probe } = setup({ interruptConfig: { nodes: ["d"] } });
    const stalled = probe.stall("a");
    const run = agent.run({}, { sessionId: "s" });
    await stalled;
    await interrupts.send("s", { type: "cancel" });
    expect(await settlesSoon(run)).toBe(true);
    expect((await run).status).toBe("cancelled");
    expect(probe.count("b")).toBe(0);
  });

  it("gets into a full queue and aborts the running node the moment it is queued", async () => {
    const { agent, interrupts, probe } = setup({ limits: { maxQueueSize: 2 } });
    const stalled = probe.stall("b");
    const run = agent.run({}, { sessionId: "s" });
    const ctx = await stalled;
    await interrupts.send("s", { type: "update_state", values: { note: "one" } });
    await interrupts.send("s", { type: "update_state", values: { note: "two" } });
    await expect(interrupts.send("s", { type: "continue" })).rejects.toBeInstanceOf(QueueFullError);
    const cancel = await interrupts.send("s", { type: "cancel" });
    await turns(3);
    expect(ctx.signal.aborted).toBe(true);
    const result = await run;
    expect(result.status).toBe("cancelled");
    expect((await decided(cancel)).status).toBe("applied");
    expect(probe.count("c")).toBe(0);
  });

  it('aborts the running node at once on the free text "stop", read when it arrives', async () => {
    const { agent, interrupts, probe } = setup();
    let abortedWhileRunning = false;
    const stalled = probe.stall("b");
    const run = agent.run({}, { sessionId: "s" });
    const ctx = await stalled;
    ctx.signal.addEventListener("abort", () => {
      abortedWhileRunning = probe.executions.length === 2 && probe.count("c") === 0;
    });
    const stop = await interrupts.send("s", "stop", { sender: "ana" });
    await turns(3);
    expect(ctx.signal.aborted).toBe(true);
    expect(abortedWhileRunning).toBe(true);
    expect(await settlesSoon(run)).toBe(true);
    const result = await run;
    expect(result.status).toBe("cancelled");
    expect(result.state.log).toEqual(["a"]);
    expect(await decided(stop)).toMatchObject({
      status: "applied",
      action: { type: "cancel" },
      source: "rules",
    });
  });

  it("aborts a slow model call of the reasoner when a cancel arrives", async () => {
    const model = new SlowModel();
    const reasoner = new ModelReasoner({ model, logger: silentLogger });
    const { agent, interrupts, probe } = setup({ interruptConfig: { reasoner } });
    const stalled = probe.stall("b");
    const run = agent.run({}, { sessionId: "s" });
    await stalled;
    await interrupts.send("s", "make it friendlier");
    await model.started.promise;
    const sent = performance.now();
    await interrupts.send("s", { type: "cancel" });
    await until(() => model.abortedAfterMs !== undefined);
    expect(performance.now() - sent).toBeLessThan(100);
    expect((await run).status).toBe("cancelled");
  });

  it("settles a second cancel that arrives while the first one ends the run, instead of leaving it claimed", async () => {
    const { agent, interrupts, probe } = setup();
    const stalled = probe.stall("b");
    const run = agent.run({}, { sessionId: "s" });
    await stalled;
    const [first, second] = await Promise.all([
      interrupts.send("s", { type: "cancel", reason: "one" }),
      interrupts.send("s", { type: "cancel", reason: "two" }),
    ]);
    expect((await run).status).toBe("cancelled");
    expect((await decided(first)).status).toBe("applied");
    expect((await decided(second)).status).toBe("applied");
    expect(await interrupts.metrics("s")).toMatchObject({ depth: 0, inFlight: 0, applied: 2 });
    // Neither is left over to cancel the resume.
    expect((await agent.resume("s")).status).toBe("completed");
  });
});
