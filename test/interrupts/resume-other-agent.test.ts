import { describe, expect, it } from "vitest";
import { InterruptService, silentLogger } from "../../src/index.js";
import { decided, linearGraph, reviewGraph, setup, sleeping } from "./harness.js";

describe("resuming a suspended run in a new GraphAgent over the same store", () => {
  it("after a pause, runs each node exactly once across both agents", async () => {
    const first = setup();
    const hold = first.probe.hold("b");
    const run = first.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await first.interrupts.send("s", { type: "pause" });
    hold.release();
    expect((await run).status).toBe("paused");

    // Another "process": its own graph, interrupt service and agent; the same store and probe.
    const second = setup({ store: first.store, probe: first.probe, clock: first.clock });
    expect(second.agent).not.toBe(first.agent);
    const result = await second.agent.resume("s");

    expect(result.status).toBe("completed");
    expect(result.state).toEqual({ log: ["a", "b", "c", "d"], n: 4, note: "" });
    expect(first.probe.counts()).toEqual({ a: 1, b: 1, c: 1, d: 1 });
    expect(first.events.filter((e) => e.type === "node:started")).toHaveLength(2);
    expect(second.events.filter((e) => e.type === "node:started")).toHaveLength(2);
  });

  it("at an approval gate, takes a decision sent through another service and runs on", async () => {
    const first = setup({
      graph: reviewGraph,
      interruptConfig: { approvals: { review: {} } },
    });
    expect((await first.agent.run({}, { sessionId: "s" })).status).toBe("paused");

    const second = setup({
      graph: reviewGraph,
      store: first.store,
      probe: first.probe,
      clock: first.clock,
      interruptConfig: { approvals: { review: {} } },
    });
    const receipt = await second.interrupts.send("s", { type: "approve" }, { sender: "ana" });
    const result = await second.agent.resume("s");

    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["draft", "review", "publish"]);
    expect(first.probe.counts()).toEqual({ draft: 1, review: 1, publish: 1 });
    expect((await decided(receipt)).status).toBe("applied");
  });

  it("after a wait-pause that timed out into a suspend", async () => {
    const first = setup();
    const hold = first.probe.hold("a");
    const run = first.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await first.interrupts.send("s", { type: "pause", mode: "wait", timeoutMs: 1_000 });
    hold.release();
    await sleeping(first.clock);
    await first.clock.advance(1_000);
    expect((await run).status).toBe("paused");

    const second = setup({ store: first.store, probe: first.probe });
    const result = await second.agent.resume("s");
    expect(result.status).toBe("completed");
    expect(first.probe.counts()).toEqual({ a: 1, b: 1, c: 1, d: 1 });
  });

  it("obeys a message sent from another process while the run was suspended", async () => {
    const first = setup();
    await first.interrupts.send("s", { type: "pause" });
    expect((await first.agent.run({}, { sessionId: "s" })).status).toBe("paused");

    const elsewhere = new InterruptService({
      store: first.store,
      clock: first.clock,
      logger: silentLogger,
    });
    await elsewhere.send("s", { type: "skip" });
    const second = setup({ store: first.store, probe: first.probe, graph: linearGraph });
    const result = await second.agent.resume("s");
    expect(result.path).toEqual(["b", "c", "d"]);
    expect(first.probe.count("a")).toBe(0);
  });
});
