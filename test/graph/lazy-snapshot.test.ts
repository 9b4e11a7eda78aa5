import { describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, GraphAgent, MemoryStore, START } from "../../src/index.js";
import { approximateJsonLength } from "../../src/run/checkpointer.js";

describe("full snapshots in the memory store", () => {
  it("are kept by reference, never copied or serialized, and cannot be changed", async () => {
    const State = z.object({ count: z.number().default(0), big: z.string() });
    const graph = new Graph({ state: State, name: "snapshots" })
      .addNode("a", () => undefined)
      .addEdge(START, "a")
      .addEdge("a", END)
      .compile();
    const store = new MemoryStore();
    const agent = new GraphAgent({ graph, store });

    const result = await agent.run({ big: "x".repeat(1_000_000) }, { sessionId: "s" });
    expect(result.status).toBe("completed");
    const records = await store.checkpoints.list("s", "");
    const first = records.at(-1)!;
    expect(first.kind).toBe("full");
    // The node changed nothing: the run's final state is the very object the snapshot holds.
    expect(first.kind === "full" && first.state).toBe(result.state);
    expect(Object.isFrozen(result.state)).toBe(true);
    expect(() => {
      (result.state as { count: number }).count = 5;
    }).toThrow(TypeError);
  });

  it("estimate their size from the structure, counting a long string by its length", () => {
    const state = {
      count: 12,
      tags: ["a", "bb"],
      nested: { ok: true, none: null },
      blob: "x".repeat(1_000),
    };
    const exact = JSON.stringify(state).length;
    const estimate = approximateJsonLength(state);
    expect(estimate).toBeGreaterThan(exact * 0.9);
    expect(estimate).toBeLessThan(exact * 1.1);
  });
});
