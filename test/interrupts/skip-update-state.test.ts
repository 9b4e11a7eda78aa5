import { describe, expect, it } from "vitest";
import { InterruptNotApplicableError, StateValidationError } from "../../src/index.js";
import { historyOf } from "../graph/helpers.js";
import { decided, ofType, refusedWith, reviewGraph, setup } from "./harness.js";

describe("skip", () => {
  it.each(["before", "both"] as const)(
    "with check %s, the next node never runs and its edges are followed",
    async (check) => {
      const { agent, interrupts, probe, events } = setup({ interruptConfig: { check } });
      const hold = probe.hold("a");
      const run = agent.run({}, { sessionId: "s" });
      await hold.entered;
      const receipt = await interrupts.send("s", { type: "skip" });
      hold.release();
      const result = await run;

      expect((await decided(receipt)).status).toBe("applied");
      expect(result.status).toBe("completed");
      expect(result.state.log).toEqual(["a", "c", "d"]);
      expect(result.path).toEqual(["a", "c", "d"]);
      expect(probe.count("b")).toBe(0);
      const skipped = ofType(events, "edge:taken").filter((e) => e.reason === "interrupt");
      expect(skipped).toEqual([
        expect.objectContaining({ from: "b", to: ["c"], label: "skipped" }),
      ]);
    },
  );

  it("follows a conditional edge of the skipped node with the current state", async () => {
    const { agent, interrupts, probe } = setup({ graph: reviewGraph });
    const hold = probe.hold("draft");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "update_state", values: { note: "revise" } });
    await interrupts.send("s", { type: "skip" });
    hold.release();
    const result = await run;
    expect(result.path).toEqual(["draft", "revise"]);
    expect(probe.count("review")).toBe(0);
    expect(probe.count("publish")).toBe(0);
  });
});

describe("update_state", () => {
  it("applies valid values through the reducers; the next node sees them", async () => {
    const { agent, interrupts, probe, events } = setup();
    const hold = probe.hold("a");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", {
      type: "update_state",
      values: { note: "from a human", log: ["human"] },
    });
    hold.release();
    const result = await run;

    expect(await decided(receipt)).toMatchObject({ status: "applied" });
    const b = probe.executions.find((e) => e.node === "b");
    expect(b?.state.note).toBe("from a human");
    expect(b?.state.log).toEqual(["a", "human"]);
    expect(result.state.log).toEqual(["a", "human", "b", "c", "d"]);
    expect(ofType(events, "state:updated").find((e) => e.node === "update_state")).toBeDefined();
    // The update is checkpointed: the state after it is in the history.
    const history = await historyOf(agent, "s");
    expect(history.some((c) => c.node === null && c.state.note === "from a human")).toBe(true);
  });

  it.each([
    ["a wrong type", { n: "three" }],
    ["an unknown key", { colour: "blue" }],
    ["a non-array for an append key", { log: "x" }],
  ])(
    "refuses %s with StateValidationError and leaves the state untouched",
    async (_what, values) => {
      const { agent, interrupts, probe, events } = setup();
      const hold = probe.hold("a");
      const run = agent.run({}, { sessionId: "s" });
      await hold.entered;
      const receipt = await interrupts.send("s", { type: "update_state", values });
      hold.release();
      const result = await run;

      await refusedWith(receipt, StateValidationError);
      expect(result.status).toBe("completed");
      expect(result.state).toEqual({ log: ["a", "b", "c", "d"], n: 4, note: "" });
      expect(probe.executions.find((e) => e.node === "b")?.state).toEqual({
        log: ["a"],
        n: 1,
        note: "",
      });
      expect(ofType(events, "state:updated").some((e) => e.node === "update_state")).toBe(false);
    },
  );
});

describe("approval actions outside a gate", () => {
  it.each([
    { type: "approve" },
    { type: "reject", reason: "no" },
    { type: "request_changes", feedback: "shorter" },
  ] as const)("refuses $type with InterruptNotApplicableError and goes on", async (action) => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", action);
    hold.release();
    const result = await run;

    const error = await refusedWith(receipt, InterruptNotApplicableError);
    expect(error.message).toContain("not waiting at an approval gate");
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "b", "c", "d"]);
  });
});
