import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  END,
  GoBackTargetError,
  Graph,
  GraphAgent,
  InterruptService,
  MemoryStore,
  START,
} from "../../src/index.js";
import { decided, loopGraph, ofType, refusedWith, setup } from "./harness.js";

describe("go_back", () => {
  it("with `to` restores the exact state from before the target ran", async () => {
    const { agent, interrupts, probe, events } = setup();
    const hold = probe.hold("c");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "go_back", to: "b" });
    hold.release();
    const result = await run;

    expect(await decided(receipt)).toMatchObject({ status: "applied" });
    expect(result.status).toBe("completed");
    // An append reducer shows a wrong restore as duplicates; `n` would count too far.
    expect(result.state.log).toEqual(["a", "b", "c", "d"]);
    expect(result.state.n).toBe(4);
    expect(result.path).toEqual(["a", "b", "c", "d"]);
    expect(probe.counts()).toEqual({ a: 1, b: 2, c: 2, d: 1 });
    // b ran again on the state from before its first run.
    const bRuns = probe.executions.filter((e) => e.node === "b");
    expect(bRuns[1]?.state).toEqual(bRuns[0]?.state);
    const restored = ofType(events, "state:restored");
    expect(restored).toHaveLength(1);
    expect(restored[0]?.next).toEqual(["b"]);
  });

  it("emits state:restored with the path as it was restored, not as the run later extends it", async () => {
    const { agent, interrupts, probe, events } = setup();
    const hold = probe.hold("c");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "go_back", to: "b" });
    hold.release();
    await run;
    // A listener (or a stream reader) that keeps the event must not see later nodes in it.
    expect(ofType(events, "state:restored")[0]?.path).toEqual(["a"]);
  });

  it("with `steps` goes back that many node executions", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("d");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "go_back", steps: 2 });
    hold.release();
    const result = await run;

    expect(result.state.log).toEqual(["a", "b", "c", "d"]);
    expect(result.state.n).toBe(4);
    expect(probe.counts()).toEqual({ a: 1, b: 1, c: 2, d: 2 });
    const cRuns = probe.executions.filter((e) => e.node === "c");
    expect(cRuns[1]?.state).toEqual({ log: ["a", "b"], n: 2, note: "" });
  });

  it("goes back twice in a row, the second time from the restored lineage", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("d");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const first = await interrupts.send("s", { type: "go_back", to: "c" });
    const second = await interrupts.send("s", { type: "go_back", steps: 1 });
    hold.release();
    const result = await run;

    expect((await decided(first)).status).toBe("applied");
    expect((await decided(second)).status).toBe("applied");
    expect(result.state.log).toEqual(["a", "b", "c", "d"]);
    expect(result.state.n).toBe(4);
    // Back before c (path a, b), then one more step: before b.
    expect(probe.counts()).toEqual({ a: 1, b: 2, c: 2, d: 2 });
    expect(probe.executions.filter((e) => e.node === "b")[1]?.state.log).toEqual(["a"]);
  });

  it("goes back again after a first go_back re-ran the target", async () => {
    const { agent, interrupts, probe } = setup();
    const firstC = probe.hold("c");
    const secondC = probe.hold("c", 2);
    const run = agent.run({}, { sessionId: "s" });
    await firstC.entered;
    await interrupts.send("s", { type: "go_back", to: "b" });
    firstC.release();
    await secondC.entered;
    await interrupts.send("s", { type: "go_back", to: "b" });
    secondC.release();
    const result = await run;

    expect(result.state.log).toEqual(["a", "b", "c", "d"]);
    expect(result.state.n).toBe(4);
    expect(probe.counts()).toEqual({ a: 1, b: 3, c: 3, d: 1 });
    const states = probe.executions.filter((e) => e.node === "b").map((e) => e.state.log);
    expect(states).toEqual([["a"], ["a"], ["a"]]);
  });

  it("restores from before the most recent execution of a node that ran several times", async () => {
    const { agent, interrupts, probe } = setup({ graph: loopGraph });
    const hold = probe.hold("review", 3);
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "go_back", to: "draft" });
    hold.release();
    const result = await run;

    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual([
      "plan",
      "draft",
      "review",
      "draft",
      "review",
      "draft",
      "review",
    ]);
    expect(probe.counts()).toEqual({ plan: 1, draft: 4, review: 4 });
    expect(probe.executions.filter((e) => e.node === "draft")[3]?.state.log).toEqual([
      "plan",
      "draft",
      "review",
      "draft",
      "review",
    ]);
  });

  it("refuses a node that never ran with GoBackTargetError, and the run goes on", async () => {
    const { agent, interrupts, probe, events } = setup();
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "go_back", to: "d" });
    const tooFar = await interrupts.send("s", { type: "go_back", steps: 3 });
    hold.release();
    const result = await run;

    const error = await refusedWith(receipt, GoBackTargetError);
    expect(error.target).toBe("d");
    expect(error.message).toContain("a → b");
    expect((await refusedWith(tooFar, GoBackTargetError)).target).toBe(3);
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "b", "c", "d"]);
    expect(ofType(events, "state:restored")).toHaveLength(0);
    expect(probe.counts()).toEqual({ a: 1, b: 1, c: 1, d: 1 });
  });

  it("writes a checkpoint after the restore so a later resume continues the restored lineage", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("c");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "go_back", to: "a" });
    await interrupts.send("s", { type: "pause" });
    hold.release();
    const paused = await run;

    expect(paused.status).toBe("paused");
    // pause is served first (priority 1): paused after c, then the resume obeys go_back.
    expect(paused.state.log).toEqual(["a", "b", "c"]);
    const resumed = await agent.resume("s");
    expect(resumed.state.log).toEqual(["a", "b", "c", "d"]);
    expect(probe.counts()).toEqual({ a: 2, b: 2, c: 2, d: 1 });
  });
});

describe("rerun", () => {
  it("re-runs the node that just ran with the guidance in ctx.feedback, once", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("b");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "rerun", guidance: "be brief" });
    hold.release();
    const result = await run;

    expect(await decided(receipt)).toMatchObject({ status: "applied" });
    expect(result.state.log).toEqual(["a", "b:be brief", "c", "d"]);
    expect(probe.executions.map((e) => [e.node, e.feedback])).toEqual([
      ["a", undefined],
      ["b", undefined],
      ["b", "be brief"],
      ["c", undefined],
      ["d", undefined],
    ]);
  });

  it("re-runs a named earlier node from the state before it", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("c");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    await interrupts.send("s", { type: "rerun", node: "a", guidance: "again" });
    hold.release();
    const result = await run;
    expect(result.state.log).toEqual(["a:again", "b", "c", "d"]);
    expect(probe.counts()).toEqual({ a: 2, b: 2, c: 2, d: 1 });
  });

  it("refuses a node that has not run, with GoBackTargetError", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("a");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "rerun", node: "c" });
    hold.release();
    expect((await run).state.log).toEqual(["a", "b", "c", "d"]);
    await refusedWith(receipt, GoBackTargetError);
  });
});

describe("go_back to a node of a parallel step", () => {
  const State = z.object({ log: z.array(z.string()).default([]) });
  type State = z.output<typeof State>;

  function fanOut() {
    let release: () => void = () => {};
    let entered: () => void = () => {};
    const reachedD = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const runs: Record<string, Array<readonly string[]>> = {};
    const node = (name: string) => async (state: Readonly<State>) => {
      runs[name] = [...(runs[name] ?? []), [...state.log]];
      if (name === "d" && runs.d!.length === 1) {
        entered();
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      }
      return { log: [name] };
    };
    const graph = new Graph({ state: State, reducers: { log: "append" } })
      .addNode("a", node("a"))
      .addNode("b", node("b"))
      .addNode("c", node("c"))
      .addNode("d", node("d"))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("a", "c")
      .addEdge(["b", "c"], "d")
      .addEdge("d", END)
      .compile();
    const store = new MemoryStore();
    const interrupts = new InterruptService({ store });
    const agent = new GraphAgent({ graph, store, interrupts });
    return { agent, interrupts, runs, reachedD, release: () => release() };
  }

  for (const target of ["b", "c"]) {
    it(`runs the whole step again from the state before it (to ${target})`, async () => {
      const { agent, interrupts, runs, reachedD, release } = fanOut();
      const run = agent.run({}, { sessionId: "s" });
      await reachedD;
      const receipt = await interrupts.send("s", { type: "go_back", to: target });
      release();
      const result = await run;
      expect(await decided(receipt)).toMatchObject({ status: "applied" });
      expect(result.status).toBe("completed");
      // Both branches ran twice, each time on the state after `a`; `d` joined once per round.
      expect(runs.b).toEqual([["a"], ["a"]]);
      expect(runs.c).toEqual([["a"], ["a"]]);
      expect(result.state.log).toEqual(["a", "b", "c", "d"]);
      expect(result.path).toEqual(["a", "b", "c", "d"]);
    });
  }
});
