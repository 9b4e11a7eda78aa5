import { describe, expect, it } from "vitest";
import { RunCancelledError } from "../../src/index.js";
import { settlesSoon } from "../graph/helpers.js";
import { decided, setup, sleeping } from "./harness.js";

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
});
