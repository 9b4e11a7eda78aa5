import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { END, Graph, GraphAgent, MemoryStore, START } from "../../src/index.js";
import { approximateJsonLength } from "../../src/run/checkpointer.js";

describe("full snapshots in the memory store", () => {
  it("are serialized when a store first reads the payload, not while the run goes on", async () => {
    // Counts the serializations of a whole state (the only values with a `blob` key).
    const stringify = vi.spyOn(JSON, "stringify");
    const serializedStates = () =>
      stringify.mock.calls.filter(
        ([value]) => typeof value === "object" && value !== null && Object.hasOwn(value, "blob"),
      ).length;
    const blob = "a large value";
    const State = z.object({ count: z.number().default(0), blob: z.string() });
    const graph = new Graph({ state: State, name: "lazy" })
      .addNode("a", (s) => ({ count: s.count + 1 }))
      .addNode("b", (s) => ({ count: s.count + 1 }))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile();
    const store = new MemoryStore();
    const agent = new GraphAgent({ graph, store });

    const result = await agent.run({ blob }, { sessionId: "lazy" });
    expect(result.status).toBe("completed");
    expect(serializedStates()).toBe(0);

    // Rebuilding states in the same process uses the frozen snapshot itself.
    const history = await agent.history("lazy");
    expect(serializedStates()).toBe(0);
    expect(history.at(-1)?.state).toEqual({ count: 0, blob });
    expect(history[0]?.state.count).toBe(2);
    const records = await store.checkpoints.list("lazy");
    expect(records.at(-1)?.kind).toBe("full");
    expect(records.at(-1)?.payload).toBe('{"count":0,"blob":"a large value"}');
    expect(serializedStates()).toBe(1);
    stringify.mockRestore();
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
