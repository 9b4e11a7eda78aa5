/**
 * Steering reaches inside nested graphs: child nodes are named by path, listen to the session's
 * queue at their own checkpoints, can be gated, and a resume continues inside the child.
 */
import { describe, expect, it } from "vitest";
import {
  END,
  Graph,
  type InterruptConfig,
  nestedGraph,
  parallelGroup,
  START,
} from "../../src/index.js";
import {
  decided,
  ofType,
  Probe,
  type State,
  State as StateSchema,
  setup,
} from "../interrupts/harness.js";

/** child: c1 → c2 → c3. */
function child(probe: Probe) {
  return new Graph({ state: StateSchema, reducers: { log: "append" }, name: "child" })
    .addNode("c1", probe.node("c1"))
    .addNode("c2", probe.node("c2"))
    .addNode("c3", probe.node("c3"))
    .addEdge(START, "c1")
    .addEdge("c1", "c2")
    .addEdge("c2", "c3")
    .addEdge("c3", END)
    .compile();
}

/** parent: before → polish (the child) → after. */
function parent(probe: Probe) {
  return new Graph({ state: StateSchema, reducers: { log: "append" }, name: "parent" })
    .addNode("before", probe.node("before"))
    .addNode("polish", nestedGraph<State, State>(child(probe)))
    .addNode("after", probe.node("after"))
    .addEdge(START, "before")
    .addEdge("before", "polish")
    .addEdge("polish", "after")
    .addEdge("after", END)
    .compile();
}

function nested(interruptConfig: InterruptConfig = {}) {
  return setup({ graph: parent, interruptConfig });
}

describe("steering a nested graph", () => {
  it("obeys a pause sent while child node c1 runs at the child's next checkpoint, and resumes inside the child", async () => {
    const t = nested();
    const hold = t.probe.hold("c1");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const pause = await t.interrupts.send("s", { type: "pause" });
    hold.release();
    const paused = await run;

    expect(paused.status).toBe("paused");
    expect(t.probe.counts()).toEqual({ before: 1, c1: 1 });
    expect(await decided(pause)).toMatchObject({ status: "applied" });
    expect(ofType(t.events, "interrupt:applied").map((e) => e.node)).toEqual(["polish/c1"]);
    expect((await t.store.checkpoints.latest("s", "polish"))?.status).toBe("paused");

    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(t.probe.counts()).toEqual({ before: 1, c1: 1, c2: 1, c3: 1, after: 1 });
    expect(resumed.state.log).toEqual(["before", "c1", "c2", "c3", "after"]);
  });

  it("holds a pause until the child node its check list names by path, not the child's start", async () => {
    const t = nested({ check: "after", nodes: ["polish/c2"] });
    const hold = t.probe.hold("before");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "pause" });
    hold.release();
    const paused = await run;
    expect(paused.status).toBe("paused");
    expect(t.probe.counts()).toEqual({ before: 1, c1: 1, c2: 1 });
    expect(ofType(t.events, "interrupt:applied").map((e) => e.node)).toEqual(["polish/c2"]);
    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(t.probe.counts()).toEqual({ before: 1, c1: 1, c2: 1, c3: 1, after: 1 });
  });

  it("suspends the whole run at a gate on child/c2, and the approved resume continues inside the child", async () => {
    const t = nested({ approvals: { "polish/c2": {} } });
    const paused = await t.agent.run({}, { sessionId: "s" });
    expect(paused.status).toBe("paused");
    expect(paused.gate).toMatchObject({ node: "polish/c2", revision: 0 });
    expect((await t.agent.getState("s"))?.meta.gate?.node).toBe("polish/c2");
    expect(t.probe.counts()).toEqual({ before: 1, c1: 1, c2: 1 });

    const approve = await t.interrupts.send("s", { type: "approve" }, { sender: "ana" });
    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(t.probe.counts()).toEqual({ before: 1, c1: 1, c2: 1, c3: 1, after: 1 });
    expect(resumed.state.log).toEqual(["before", "c1", "c2", "c3", "after"]);
    expect((await decided(approve)).status).toBe("applied");
    expect(ofType(t.events, "approval:decided")).toEqual([
      expect.objectContaining({ node: "polish/c2", decision: "approve", actor: "ana" }),
    ]);
  });

  it("re-runs child/c2 on request_changes at its gate, with the feedback, inside the child", async () => {
    const t = nested({ approvals: { "polish/c2": {} } });
    expect((await t.agent.run({}, { sessionId: "s" })).status).toBe("paused");
    await t.interrupts.send("s", { type: "request_changes", feedback: "tighter" });
    const second = await t.agent.resume("s");
    expect(second.status).toBe("paused");
    expect(second.gate).toMatchObject({ node: "polish/c2", revision: 1 });
    await t.interrupts.send("s", { type: "approve" });
    const done = await t.agent.resume("s");
    expect(done.status).toBe("completed");
    expect(t.probe.counts()).toEqual({ before: 1, c1: 1, c2: 2, c3: 1, after: 1 });
    expect(t.probe.executions.filter((e) => e.node === "c2").map((e) => e.feedback)).toEqual([
      undefined,
      "tighter",
    ]);
  });

  it("hands a go_back to one of the parent's nodes, sent while the child runs, up to the parent", async () => {
    const t = nested();
    const hold = t.probe.hold("c2");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const back = await t.interrupts.send("s", { type: "go_back", to: "before" });
    hold.release();
    const result = await run;
    expect(result.status).toBe("completed");
    expect((await decided(back)).status).toBe("applied");
    expect(t.probe.counts()).toEqual({ before: 2, c1: 2, c2: 2, c3: 1, after: 1 });
    expect(result.state.log).toEqual(["before", "c1", "c2", "c3", "after"]);
  });

  it("names the nodes of two nested nodes that use the same child graph by their own paths", async () => {
    const probe = new Probe();
    const nodes: string[] = [];
    const shared = new Graph({ state: StateSchema, reducers: { log: "append" }, name: "shared" })
      .addNode("step", (_s, ctx) => {
        nodes.push(ctx.node);
        return {};
      })
      .addEdge(START, "step")
      .addEdge("step", END)
      .compile();
    const t = setup({
      probe,
      graph: () =>
        new Graph({ state: StateSchema, reducers: { log: "append" }, name: "twice" })
          .addNode("first", nestedGraph<State, State>(shared))
          .addNode("second", nestedGraph<State, State>(shared))
          .addEdge(START, "first")
          .addEdge("first", "second")
          .addEdge("second", END)
          .compile(),
    });
    expect((await t.agent.run({}, { sessionId: "s" })).status).toBe("completed");
    expect(nodes).toEqual(["first/step", "second/step"]);
    expect(ofType(t.events, "node:started").map((e) => e.node)).toEqual([
      "first",
      "first/step",
      "second",
      "second/step",
    ]);
    const threads = await Promise.all(
      ["first", "second"].map(
        async (thread) =>
          (await t.store.checkpoints.list("s", thread)).filter((r) => r.node !== null).length,
      ),
    );
    expect(threads).toEqual([1, 1]);
  });

  it("does not let a run nested inside a parallel branch listen to the queue: the group's node obeys after it", async () => {
    const t = setup({
      graph: (probe) =>
        new Graph({ state: StateSchema, reducers: { log: "append" }, name: "fan" })
          .addNode(
            "group",
            parallelGroup<State>({
              branches: { nested: nestedGraph<State, State>(child(probe)), plain: () => ({}) },
            }),
          )
          .addNode("after", probe.node("after"))
          .addEdge(START, "group")
          .addEdge("group", "after")
          .addEdge("after", END)
          .compile(),
    });
    const hold = t.probe.hold("c1");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "pause" });
    hold.release();
    const paused = await run;
    expect(paused.status).toBe("paused");
    expect(t.probe.counts()).toEqual({ c1: 1, c2: 1, c3: 1 });
    expect(ofType(t.events, "interrupt:applied").map((e) => e.node)).toEqual(["group"]);
  });

  it("applies an update_state sent while a child node runs to the child's state, which the child's next nodes and the parent then see", async () => {
    const t = nested();
    const hold = t.probe.hold("c1");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const update = await t.interrupts.send("s", { type: "update_state", values: { note: "n" } });
    hold.release();
    const result = await run;

    expect(await decided(update)).toMatchObject({ status: "applied" });
    expect(result.status).toBe("completed");
    const seen = (node: string) => t.probe.executions.find((e) => e.node === node)?.state.note;
    // Applied at the child's check after c1: c2 and c3 see it, and it flows out to the parent.
    expect([seen("c1"), seen("c2"), seen("c3"), seen("after")]).toEqual(["", "n", "n", "n"]);
    expect(ofType(t.events, "interrupt:applied").map((e) => e.node)).toEqual(["polish/c1"]);
    expect(result.state.note).toBe("n");
  });

  it("refuses an update_state with a key the child's schema does not know, and the child goes on", async () => {
    const t = nested();
    const hold = t.probe.hold("c1");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const update = await t.interrupts.send("s", {
      type: "update_state",
      values: { constructor: "x" },
    });
    hold.release();
    const result = await run;
    expect(await decided(update)).toMatchObject({ status: "refused" });
    expect(result.status).toBe("completed");
    expect(Object.hasOwn(result.state, "constructor")).toBe(false);
    expect(result.state.log).toEqual(["before", "c1", "c2", "c3", "after"]);
  });

  it("aborts a child node that never returns on its own when a cancel message arrives, and ends the whole run cancelled", async () => {
    const t = nested();
    const stalled = t.probe.stall("c2");
    const run = t.agent.run({}, { sessionId: "s" });
    const ctx = await stalled;
    const cancel = await t.interrupts.send("s", { type: "cancel", reason: "wrong topic" });
    const result = await run;

    expect(ctx.signal.aborted).toBe(true);
    expect(result.status).toBe("cancelled");
    expect(await decided(cancel)).toMatchObject({ status: "applied" });
    expect(t.probe.counts()).toEqual({ before: 1, c1: 1, c2: 1 });
    expect((await t.store.checkpoints.latest("s", ""))?.status).toBe("cancelled");
    // A resume of a cancelled run goes on inside the child, at the node that was cut short.
    const resumed = await t.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(t.probe.counts()).toEqual({ before: 1, c1: 1, c2: 2, c3: 1, after: 1 });
  });
});
