import { describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, GraphAgent, parallelGroup, START } from "../../src/index.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";

const State = z.object({ n: z.number().default(0) });

describe("ctx.idempotencyKey", () => {
  it("differs for each step of a cycle and for the siblings of a superstep", async () => {
    const keys: string[] = [];
    const graph = new Graph({ state: State })
      .addNode("loop", (s, ctx) => {
        keys.push(`loop:${ctx.idempotencyKey}`);
        return { n: s.n + 1 };
      })
      .addNode("left", (_s, ctx) => {
        keys.push(`left:${ctx.idempotencyKey}`);
      })
      .addNode("right", (_s, ctx) => {
        keys.push(`right:${ctx.idempotencyKey}`);
      })
      .addEdge(START, "loop")
      .addConditionalEdges("loop", (s) => (s.n < 3 ? "loop" : ["left", "right"]))
      .addEdge("left", END)
      .addEdge("right", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({}, { sessionId: "s" });
    expect(result.status).toBe("completed");
    expect(keys).toHaveLength(5);
    expect(new Set(keys.map((k) => k.split(":")[1])).size).toBe(5);
    for (const key of keys) expect(key.split(":")[1]).toMatch(/^[0-9a-f]{32}$/);
  });

  it("stays the same for every attempt of a retried node", async () => {
    const seen: string[] = [];
    const graph = new Graph({ state: State })
      .addNode(
        "flaky",
        (_s, ctx) => {
          seen.push(ctx.idempotencyKey);
          if (ctx.attempt < 3) throw new Error("try again");
        },
        { retry: { maxAttempts: 3, initialDelayMs: 1 } },
      )
      .addEdge(START, "flaky")
      .addEdge("flaky", END)
      .compile();
    expect((await new GraphAgent({ graph }).run({})).status).toBe("completed");
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(1);
  });

  it("stays the same when a session resumes from the checkpoint the step started at", async () => {
    const store = new MemoryStore();
    const seen: string[] = [];
    let fail = true;
    const graph = new Graph({ state: State })
      .addNode("first", () => ({ n: 1 }))
      .addNode("effect", (_s, ctx) => {
        seen.push(ctx.idempotencyKey);
      })
      .addEdge(START, "first")
      .addEdge("first", "effect")
      .addEdge("effect", END)
      .compile();
    const agent = new GraphAgent({
      graph,
      store,
      hooks: {
        // Stands in for a process that dies after the node ran and before its checkpoint.
        afterNode: ({ node }) => {
          if (node === "effect" && fail) throw new Error("crash");
        },
      },
    });
    await agent.run({}, { sessionId: "s" });
    const history = await agent.history("s");
    // Continue from the checkpoint `effect` started at, as a worker taking over would.
    const from = history.find((entry) => entry.node === "first")!;
    fail = false;
    const resumed = await agent.resume("s", { checkpointId: from.id });
    expect(resumed.status).toBe("completed");
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
  });

  it("gives each branch of a parallel group a key of its own", async () => {
    const keys = new Map<string, string>();
    const graph = new Graph({ state: State })
      .addNode(
        "group",
        parallelGroup<z.output<typeof State>>({
          branches: {
            a: (_s, ctx) => {
              keys.set("a", ctx.idempotencyKey);
            },
            b: (_s, ctx) => {
              keys.set("b", ctx.idempotencyKey);
            },
          },
        }),
      )
      .addEdge(START, "group")
      .addEdge("group", END)
      .compile();
    expect((await new GraphAgent({ graph }).run({})).status).toBe("completed");
    expect(keys.get("a")).toMatch(/^[0-9a-f]{32}$/);
    expect(keys.get("a")).not.toBe(keys.get("b"));
  });
});
