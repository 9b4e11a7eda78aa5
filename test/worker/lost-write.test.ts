import { describe, expect, it } from "vitest";
import { z } from "zod";
import { StoreUnavailableError } from "../../src/errors.js";
import { END, Graph, GraphAgent, START, silentLogger } from "../../src/index.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { StoreBatch } from "../../src/store/store.js";

const State = z.object({ log: z.array(z.string()).default([]) });

/** A memory store whose `failAt`-th commit (1-based) fails as a cut connection would. */
function flakyStore(failAt: number) {
  const store = new MemoryStore({ logger: silentLogger });
  let commits = 0;
  const commit = store.commit.bind(store);
  store.commit = async (batch: StoreBatch) => {
    commits++;
    if (commits === failAt) throw new StoreUnavailableError("memory", "the connection was cut");
    return commit(batch);
  };
  return store;
}

describe("a checkpoint write that fails", () => {
  for (const failAt of [1, 2, 3, 4]) {
    it(`is never named as a parent or a delta base (commit ${failAt} fails)`, async () => {
      const store = flakyStore(failAt);
      const graph = new Graph({ state: State, reducers: { log: "append" }, name: "lost" })
        .addNode("a", () => ({ log: ["a"] }))
        .addNode("b", () => ({ log: ["b"] }))
        .addNode("c", () => ({ log: ["c"] }))
        .addEdge(START, "a")
        .addEdge("a", "b")
        .addEdge("b", "c")
        .addEdge("c", END)
        .compile();
      const agent = new GraphAgent({ graph, store, logger: silentLogger });
      const first = await agent.run({}, { sessionId: "s" });
      expect(first.status).toBe("failed");
      expect(first.error?.code).toBe("STORE_UNAVAILABLE");
      const records = await store.checkpoints.list("s", "", { limit: 100 });
      const ids = new Set(records.map((r) => r.id));
      for (const record of records) {
        if (record.parentId !== null) expect(ids.has(record.parentId)).toBe(true);
      }
      // The session still names its graph, and every stored checkpoint can be read.
      expect((await store.sessions.get("s"))?.graph).toBe("lost");
      for (const entry of await agent.history("s")) expect(entry.error).toBeUndefined();
      const resumed = await agent.resume("s");
      expect(resumed.status).toBe("completed");
      expect(resumed.state.log).toEqual(["a", "b", "c"]);
    });
  }
});
