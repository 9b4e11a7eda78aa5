import { describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, GraphAgent, MaxIterationsError, START } from "../../src/index.js";

const Counter = z.object({
  count: z.number().default(0),
  log: z.array(z.string()).default([]),
});

/** The counter from the `Graph` docs: counts to `limit` through a conditional self-loop. */
function counter(limit: number, withLog = true) {
  return new Graph({ state: Counter, reducers: { log: "append" } })
    .addNode("inc", (s) =>
      withLog ? { count: s.count + 1, log: ["inc"] } : { count: s.count + 1 },
    )
    .addEdge(START, "inc")
    .addConditionalEdges("inc", (s) => (s.count < limit ? "inc" : END))
    .compile();
}

describe("cycles", () => {
  it("counts to 3 through a conditional self-loop", async () => {
    const result = await new GraphAgent({ graph: counter(3) }).run({ count: 0 });
    expect(result.status).toBe("completed");
    expect(result.state).toEqual({ count: 3, log: ["inc", "inc", "inc"] });
    expect(result.path).toEqual(["inc", "inc", "inc"]);
    expect(result.iterations).toBe(3);
  });

  it("fails with MaxIterationsError when a loop runs past maxIterations", async () => {
    const agent = new GraphAgent({ graph: counter(Number.POSITIVE_INFINITY), maxIterations: 5 });
    const result = await agent.run({});
    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(MaxIterationsError);
    expect((result.error as MaxIterationsError).maxIterations).toBe(5);
    expect(result.iterations).toBe(5);
    expect(result.state.count).toBe(5);
  });

  it("shows the last steps of the path in the MaxIterationsError message", async () => {
    const loop = new Graph({ state: Counter })
      .addNode("a", (s) => ({ count: s.count + 1 }))
      .addNode("b", () => undefined)
      .addNode("c", () => undefined)
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", "c")
      .addConditionalEdges("c", (s) => (s.count < 1_000 ? "a" : END))
      .compile();
    const result = await new GraphAgent({ graph: loop, maxIterations: 10 }).run({});

    expect(result.path).toEqual(["a", "b", "c", "a", "b", "c", "a", "b", "c", "a"]);
    const error = result.error as MaxIterationsError;
    expect(error).toBeInstanceOf(MaxIterationsError);
    const recent = error.recentPath;
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThan(result.path.length);
    expect(recent).toEqual(result.path.slice(-recent.length));
    expect(error.message).toContain(recent.join(" → "));
    expect(error.message).toContain("10");
    expect(error.message).toContain("maxIterations");
  });

  it("completes a loop of 10,000 iterations under maxIterations 20,000", async () => {
    const agent = new GraphAgent({ graph: counter(10_000, false), maxIterations: 20_000 });
    const result = await agent.run({});
    expect(result.status).toBe("completed");
    expect(result.state.count).toBe(10_000);
    expect(result.iterations).toBe(10_000);
    expect(result.path).toHaveLength(10_000);
  });

  it("counts iterations per run, so a resumed run gets a fresh budget", async () => {
    const agent = new GraphAgent({ graph: counter(8), maxIterations: 5 });
    const first = await agent.run({}, { sessionId: "budget" });
    expect(first.status).toBe("failed");
    const second = await agent.resume("budget");
    expect(second.status).toBe("completed");
    expect(second.state.count).toBe(8);
    expect(second.iterations).toBe(3);
  });
});
