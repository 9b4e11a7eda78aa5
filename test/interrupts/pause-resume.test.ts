import { describe, expect, it } from "vitest";
import { InterruptNotApplicableError } from "../../src/index.js";
import { decided, ofType, refusedWith, setup, sleeping, stillPending } from "./harness.js";

describe("continue", () => {
  it("is applied and changes nothing", async () => {
    const { agent, interrupts, probe, events } = setup();
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "continue" }, { sender: "ana" });
    hold.release();
    const result = await run;

    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "b", "c", "d"]);
    const outcome = await decided(receipt);
    expect(outcome).toMatchObject({
      status: "applied",
      action: { type: "continue" },
      source: "action",
    });
    expect(ofType(events, "interrupt:applied").map((e) => e.node)).toEqual(["b"]);
  });
});

describe("pause in suspend mode", () => {
  it("ends the run paused after the node that was running, and resume runs the rest", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "pause", mode: "suspend" });
    hold.release();
    const paused = await run;

    expect(paused.status).toBe("paused");
    expect(paused.state.log).toEqual(["a", "b"]);
    expect(paused.path).toEqual(["a", "b"]);
    expect(probe.count("c")).toBe(0);
    expect(await decided(receipt)).toMatchObject({ status: "applied", action: { type: "pause" } });
    const checkpoint = await agent.getState("s");
    expect(checkpoint?.status).toBe("paused");
    expect(checkpoint?.next).toEqual(["c"]);
    expect(checkpoint?.meta.pause).toEqual({ phase: "after", node: "b", at: 1_000_000 });

    const resumed = await agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.log).toEqual(["a", "b", "c", "d"]);
    expect(probe.counts()).toEqual({ a: 1, b: 1, c: 1, d: 1 });
  });

  it("uses pauseMode from the config when the message gives no mode", async () => {
    const { agent, interrupts, probe, clock } = setup({
      interruptConfig: { pauseMode: "wait", pauseTimeoutMs: 5_000 },
    });
    const hold = probe.hold("a");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "pause" });
    hold.release();
    await sleeping(clock);
    expect(await stillPending(run)).toBe(true);
    expect(probe.count("b")).toBe(0);
    await clock.advance(5_000);
    expect((await run).status).toBe("paused");
  });
});

describe("pause in wait mode", () => {
  it("holds the run in process until a resume sent later continues it", async () => {
    const { agent, interrupts, probe, clock } = setup();
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "pause", mode: "wait" }, { sender: "ana" });
    hold.release();
    await sleeping(clock);
    expect(await stillPending(run)).toBe(true);
    expect(probe.count("c")).toBe(0);

    const resume = await interrupts.send("s", { type: "resume" }, { sender: "bob" });
    const result = await run;
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "b", "c", "d"]);
    expect(await decided(resume)).toMatchObject({ status: "applied", action: { type: "resume" } });

    const { items } = await agent.auditTrail("s");
    const kinds = items.filter((e) => e.kind.startsWith("run.")).map((e) => [e.kind, e.actor]);
    expect(kinds).toEqual([
      ["run.started", undefined],
      ["run.paused", "ana"],
      ["run.resumed", "bob"],
      ["run.finished", undefined],
    ]);
  });

  it("settles the pause receipt as soon as the run is held, not when the wait ends", async () => {
    const { agent, interrupts, probe, clock } = setup();
    const hold = probe.hold("a");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const pause = await interrupts.send("s", { type: "pause", mode: "wait" });
    hold.release();
    await sleeping(clock);
    // The sender must be able to tell that the run is paused while it is.
    expect(await decided(pause)).toMatchObject({ status: "applied", action: { type: "pause" } });
    await interrupts.send("s", { type: "resume" });
    expect((await run).status).toBe("completed");
  });

  it.each([
    ["suspend", "paused", ["a"]],
    ["continue", "completed", ["a", "b", "c", "d"]],
    ["cancel", "cancelled", ["a"]],
  ] as const)(
    "follows onPauseTimeout %s when the wait times out",
    async (onPauseTimeout, status, log) => {
      const { agent, interrupts, probe, clock } = setup({ interruptConfig: { onPauseTimeout } });
      const hold = probe.hold("a");
      const run = agent.run({}, { sessionId: "s" });
      await hold.entered;
      await interrupts.send("s", { type: "pause", mode: "wait", timeoutMs: 1_000 });
      hold.release();
      await sleeping(clock);
      await clock.advance(999);
      expect(await stillPending(run)).toBe(true);
      await clock.advance(1);

      const result = await run;
      expect(result.status).toBe(status);
      expect(result.state.log).toEqual(log);
      const resumed = (await agent.auditTrail("s")).items.find((e) => e.kind === "run.resumed");
      expect(resumed?.data).toEqual({ by: "timeout", outcome: onPauseTimeout });
    },
  );

  it("goes on at once when a course change (go_back) arrives during the wait", async () => {
    const { agent, interrupts, probe, clock } = setup();
    const hold = probe.hold("c");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "pause", mode: "wait" });
    hold.release();
    await sleeping(clock);
    await interrupts.send("s", { type: "go_back", to: "b" });
    const result = await run;
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "b", "c", "d"]);
    expect(probe.counts()).toEqual({ a: 1, b: 2, c: 2, d: 1 });
  });

  it("ends the wait when `resume` arrives as free text", async () => {
    const { agent, interrupts, probe, clock } = setup();
    const hold = probe.hold("a");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "pause", mode: "wait" });
    hold.release();
    await sleeping(clock);
    const resume = await interrupts.send("s", "resume");
    expect(await decided(resume)).toMatchObject({
      status: "applied",
      action: { type: "resume" },
      source: "rules",
    });
    expect(await stillPending(run)).toBe(false);
    expect((await run).status).toBe("completed");
  });
});

describe("resume", () => {
  it("is refused with InterruptNotApplicableError when the run is not paused", async () => {
    const { agent, interrupts, probe, events } = setup();
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "resume" });
    hold.release();
    const result = await run;

    expect(result.status).toBe("completed");
    const error = await refusedWith(receipt, InterruptNotApplicableError);
    expect(error.message).toContain("the run is not paused");
    expect(ofType(events, "interrupt:refused").map((e) => e.id)).toEqual([receipt.id]);
  });

  it("is applied at the start of a resumed run, where the resume already happened", async () => {
    const { agent, interrupts } = setup();
    await interrupts.send("s", { type: "pause" });
    expect((await agent.run({}, { sessionId: "s" })).status).toBe("paused");
    const receipt = await interrupts.send("s", { type: "resume" });
    expect((await agent.resume("s")).status).toBe("completed");
    expect((await decided(receipt)).status).toBe("applied");
  });
});
