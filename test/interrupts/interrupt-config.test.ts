import { describe, expect, it } from "vitest";
import { type InterruptConfig, InvalidOptionError, RunEndedError } from "../../src/index.js";
import { decided, ofType, refusedWith, setup } from "./harness.js";

/** Runs a, b, c, d with `b` held; sends `pause` while b runs; returns the paused result. */
async function pauseDuringB(interruptConfig: InterruptConfig) {
  const t = setup({ interruptConfig });
  const hold = t.probe.hold("b");
  const run = t.agent.run({}, { sessionId: "s" });
  await hold.entered;
  const receipt = await t.interrupts.send("s", { type: "pause" });
  hold.release();
  return { ...t, result: await run, receipt };
}

describe("InterruptConfig.check", () => {
  it('"after" obeys a message right after the node that was running', async () => {
    const { result, events, probe } = await pauseDuringB({ check: "after" });
    expect(result.status).toBe("paused");
    expect(result.path).toEqual(["a", "b"]);
    expect(probe.count("c")).toBe(0);
    expect(ofType(events, "interrupt:applied").map((e) => e.node)).toEqual(["b"]);
  });

  it('"before" obeys it before the next node starts', async () => {
    const { result, events, probe } = await pauseDuringB({ check: "before" });
    expect(result.status).toBe("paused");
    expect(result.path).toEqual(["a", "b"]);
    expect(probe.count("c")).toBe(0);
    expect(ofType(events, "interrupt:applied").map((e) => e.node)).toEqual(["c"]);
  });

  it('"both" (the default) obeys it at the first of the two', async () => {
    const { result, events } = await pauseDuringB({});
    expect(result.path).toEqual(["a", "b"]);
    expect(ofType(events, "interrupt:applied").map((e) => e.node)).toEqual(["b"]);
  });

  it('"before" has no check after the last node: a message sent then is refused as too late', async () => {
    const { agent, interrupts, probe } = setup({ interruptConfig: { check: "before" } });
    const hold = probe.hold("d");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "update_state", values: { note: "late" } });
    hold.release();
    const result = await run;
    expect(result.status).toBe("completed");
    expect(result.state.note).toBe("");
    expect(await interrupts.hasPending("s")).toBe(false);
    const error = await refusedWith(receipt, RunEndedError);
    expect(error.status).toBe("completed");
  });

  it('"after" and "both" obey a message sent during the last node before the run ends', async () => {
    for (const check of ["after", "both"] as const) {
      const { agent, interrupts, probe } = setup({ interruptConfig: { check } });
      const hold = probe.hold("d");
      const run = agent.run({}, { sessionId: "s" });
      await hold.entered;
      const receipt = await interrupts.send("s", {
        type: "update_state",
        values: { note: "late" },
      });
      hold.release();
      const result = await run;
      expect(result.state.note).toBe("late");
      expect((await decided(receipt)).status).toBe("applied");
    }
  });
});

describe("InterruptConfig.nodes", () => {
  it("holds a pause sent around an unlisted node until a listed one", async () => {
    const { result, probe, events } = await pauseDuringB({ nodes: ["d"] });
    expect(result.status).toBe("paused");
    // b and c are not listed: the pause waits, c runs, and the run stops before d.
    expect(result.path).toEqual(["a", "b", "c"]);
    expect(probe.count("c")).toBe(1);
    expect(probe.count("d")).toBe(0);
    expect(ofType(events, "interrupt:applied").map((e) => e.node)).toEqual(["d"]);
  });

  it('with check "after", it waits until the listed node has run', async () => {
    const { result, probe } = await pauseDuringB({ nodes: ["c"], check: "after" });
    expect(result.path).toEqual(["a", "b", "c"]);
    expect(probe.count("d")).toBe(0);
  });

  it('with check "before", it stops before the listed node', async () => {
    const { result, probe } = await pauseDuringB({ nodes: ["c"], check: "before" });
    expect(result.path).toEqual(["a", "b"]);
    expect(probe.count("c")).toBe(0);
  });

  it("listens around every listed node, not only the first", async () => {
    const { agent, interrupts, probe } = setup({ interruptConfig: { nodes: ["a", "d"] } });
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "pause" });
    hold.release();
    const result = await run;
    expect(result.path).toEqual(["a", "b", "c"]);
  });

  it("rejects a node name that is not in the graph", () => {
    expect(() => setup({ interruptConfig: { nodes: ["nope"] } })).toThrow(InvalidOptionError);
  });
});
