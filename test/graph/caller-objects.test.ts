import { describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, GraphAgent, START } from "../../src/index.js";

const State = z.object({
  config: z.any().optional(),
  items: z.array(z.any()).default([]),
  meta: z.record(z.string(), z.any()).default({}),
});

describe("objects given to a run", () => {
  it("leaves a run input object unfrozen and unchanged, also under z.any()", async () => {
    const input = {
      config: { retries: 3, tags: ["a"], nested: { deep: [1, 2] } },
      items: [{ id: 1 }],
      meta: { owner: { name: "Ada" } },
    };
    const snapshot = structuredClone(input);
    const graph = new Graph({ state: State, reducers: { items: "append", meta: "merge" } })
      .addNode("node", () => ({ items: [{ id: 2 }], meta: { extra: { x: 1 } } }))
      .addEdge(START, "node")
      .addEdge("node", END)
      .compile();

    const result = await new GraphAgent({ graph }).run(input);

    expect(result.status).toBe("completed");
    expect(input).toEqual(snapshot);
    for (const value of [
      input,
      input.config,
      input.config.tags,
      input.config.nested,
      input.config.nested.deep,
      input.items,
      input.items[0],
      input.meta,
      input.meta.owner,
    ]) {
      expect(Object.isFrozen(value)).toBe(false);
    }
    input.config.nested.deep.push(3);
    expect(result.state.config).toEqual({ retries: 3, tags: ["a"], nested: { deep: [1, 2] } });
  });

  it("leaves the objects a node returns unfrozen: the state keeps copies", async () => {
    const shared = { tags: ["x"], inner: { n: 1 } };
    const item = { id: 7, parts: [1] };
    const patch = { owner: { name: "Bo" } };
    const graph = new Graph({ state: State, reducers: { items: "append", meta: "merge" } })
      .addNode("node", () => ({ config: shared, items: [item], meta: patch }))
      .addEdge(START, "node")
      .addEdge("node", END)
      .compile();

    const result = await new GraphAgent({ graph }).run({});

    expect(result.status).toBe("completed");
    for (const value of [shared, shared.tags, shared.inner, item, item.parts, patch, patch.owner]) {
      expect(Object.isFrozen(value)).toBe(false);
    }
    shared.inner.n = 2;
    item.parts.push(2);
    expect(result.state.config).toEqual({ tags: ["x"], inner: { n: 1 } });
    expect(result.state.items).toEqual([{ id: 7, parts: [1] }]);
    expect(Object.isFrozen(result.state.config)).toBe(true);
  });

  it("shares strings instead of copying them", async () => {
    const text = "x".repeat(1_000);
    const seen: string[] = [];
    const graph = new Graph({ state: z.object({ text: z.string() }) })
      .addNode("node", (s) => {
        seen.push(s.text);
        return undefined;
      })
      .addEdge(START, "node")
      .addEdge("node", END)
      .compile();
    await new GraphAgent({ graph }).run({ text });
    expect(seen[0]).toBe(text);
  });
});
