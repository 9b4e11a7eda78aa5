import { describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, GraphAgent, MemoryStore, START } from "../../src/index.js";
import { InterruptService } from "../../src/interrupts/interrupt-service.js";

const State = z.object({ log: z.array(z.string()).default([]), n: z.number().default(0) });
const build = () =>
  new Graph({ state: State, reducers: { log: "append" } })
    .addNode("a", (s) => ({ log: ["a"], n: s.n + 1 }))
    .addNode("b", (s, ctx) => ({ log: [`b${ctx.feedback ? `:${ctx.feedback}` : ""}`], n: s.n + 1 }))
    .addNode("c", (s) => ({ log: ["c"], n: s.n + 1 }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile();

describe("GraphAgent with interrupts", () => {
  it("suspends on pause and resumes in a new agent", async () => {
    const store = new MemoryStore();
    const interrupts = new InterruptService({ store });
    const graph = build();
    const agent = new GraphAgent({ graph, store, interrupts });
    const receipt = await interrupts.send("s1", { type: "pause" });
    const r1 = await agent.run({}, { sessionId: "s1" });
    expect(r1.status).toBe("paused");
    expect((await receipt.decision).status).toBe("applied");
    const agent2 = new GraphAgent({ graph, store, interrupts });
    const r2 = await agent2.resume("s1");
    expect(r2.status).toBe("completed");
    expect(r2.state.log).toEqual(["a", "b", "c"]);
  });
  it("re-runs a gated node with the requested changes, then approves it", async () => {
    const store = new MemoryStore();
    const interrupts = new InterruptService({ store });
    const graph = build();
    const agent = new GraphAgent({
      graph,
      store,
      interrupts,
      interruptConfig: { approvals: { b: { maxRevisions: 2 } } },
    });
    const r1 = await agent.run({}, { sessionId: "s2" });
    expect(r1.status).toBe("paused");
    await interrupts.send("s2", { type: "request_changes", feedback: "shorter" });
    const r2 = await agent.resume("s2");
    expect(r2.status).toBe("paused");
    expect(r2.state.log).toEqual(["a", "b:shorter"]);
    await interrupts.send("s2", { type: "approve" });
    const r3 = await agent.resume("s2");
    expect(r3.status).toBe("completed");
    expect(r3.state.log).toEqual(["a", "b:shorter", "c"]);
    const go = await interrupts.send("s2", "go back to a");
    const trail = await agent.auditTrail("s2");
    expect(trail.items.length).toBeGreaterThan(3);
    void go;
  });

  it("audits one approval request per gate turn, also when the run is suspended and resumed at it", async () => {
    const store = new MemoryStore();
    const interrupts = new InterruptService({ store });
    const agent = new GraphAgent({
      graph: build(),
      store,
      interrupts,
      interruptConfig: { approvals: { b: {} } },
    });
    expect((await agent.run({}, { sessionId: "once" })).status).toBe("paused");
    expect((await agent.resume("once")).status).toBe("paused");
    await interrupts.send("once", { type: "approve" }, { sender: "ana" });
    expect((await agent.resume("once")).status).toBe("completed");
    const kinds = (await agent.auditTrail("once")).items.map((e) => e.kind);
    expect(kinds.filter((k) => k === "approval.requested")).toHaveLength(1);
    expect(kinds.filter((k) => k === "approval.decided")).toHaveLength(1);
  });
});
