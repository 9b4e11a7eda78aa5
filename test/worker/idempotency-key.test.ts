import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  END,
  Graph,
  GraphAgent,
  InterruptService,
  type NodeContext,
  NodeExecutionError,
  nestedGraph,
  parallelGroup,
  START,
} from "../../src/index.js";
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

  /** START → first → effect → END, `effect` doing what `run` says on each execution. */
  function effectGraph(run: (execution: number, ctx: NodeContext) => Promise<void> | void) {
    const seen: string[] = [];
    const graph = new Graph({ state: State })
      .addNode("first", () => ({ n: 1 }))
      .addNode("effect", async (_s, ctx) => {
        seen.push(ctx.idempotencyKey);
        await run(seen.length, ctx);
        return { n: 2 };
      })
      .addEdge(START, "first")
      .addEdge("first", "effect")
      .addEdge("effect", END)
      .compile();
    return { graph, seen };
  }

  /** Settles once `signal` is aborted, with its reason, as a node honouring `ctx.signal` does. */
  const aborted = (signal: AbortSignal) =>
    new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });

  it("stays the same when a session cancelled while the node ran is resumed", async () => {
    const store = new MemoryStore();
    const { graph, seen } = effectGraph(async (execution, ctx) => {
      if (execution === 1) {
        agent.cancel("s", "stop");
        await aborted(ctx.signal);
      }
    });
    const agent = new GraphAgent({ graph, store });
    expect((await agent.run({}, { sessionId: "s" })).status).toBe("cancelled");
    const resumed = await agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(seen[0]);
  });

  it("stays the same for a node of a nested graph when a session cancelled while it ran is resumed", async () => {
    const store = new MemoryStore();
    const seen: string[] = [];
    const child = new Graph({ state: State, name: "child" })
      .addNode("before", () => ({ n: 1 }))
      .addNode("effect", async (_s, ctx) => {
        seen.push(ctx.idempotencyKey);
        if (seen.length === 1) {
          agent.cancel("s", "stop");
          await aborted(ctx.signal);
        }
        return { n: 2 };
      })
      .addEdge(START, "before")
      .addEdge("before", "effect")
      .addEdge("effect", END)
      .compile();
    const graph = new Graph({ state: State })
      .addNode("outer", () => ({ n: 10 }))
      .addNode(
        "nested",
        nestedGraph(child, { input: (p) => ({ n: p.n }), output: (c) => ({ n: c.n + 100 }) }),
      )
      .addEdge(START, "outer")
      .addEdge("outer", "nested")
      .addEdge("nested", END)
      .compile();
    const agent = new GraphAgent({ graph, store });
    expect((await agent.run({}, { sessionId: "s" })).status).toBe("cancelled");
    const resumed = await agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.n).toBe(102);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(seen[1]).toBe(seen[0]);
  });

  it("changes when a session failed by the node's own error is resumed", async () => {
    const store = new MemoryStore();
    const { graph, seen } = effectGraph((execution) => {
      if (execution === 1) throw new Error("the payment was declined");
    });
    const agent = new GraphAgent({ graph, store });
    const failed = await agent.run({}, { sessionId: "s" });
    expect(failed.status).toBe("failed");
    expect(failed.error).toBeInstanceOf(NodeExecutionError);
    const resumed = await agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(seen).toHaveLength(2);
    expect(seen[1]).toMatch(/^[0-9a-f]{32}$/);
    expect(seen[1]).not.toBe(seen[0]);
  });

  it("stays the same for a branch of a parallel group resumed after a cancel, once another branch saved its result", async () => {
    const store = new MemoryStore();
    const keys: string[] = [];
    let executions = 0;
    const graph = new Graph({ state: State })
      .addNode("first", () => ({ n: 1 }))
      .addNode(
        "group",
        parallelGroup<z.output<typeof State>>({
          branches: {
            quick: () => {},
            slow: async (_s, ctx) => {
              keys.push(ctx.idempotencyKey);
              executions++;
              if (executions > 1) return;
              // Cancelled once the quick branch's result is stored.
              for (let i = 0; i < 100; i++) {
                const latest = await store.checkpoints.latest("s", "");
                if (latest?.kind !== "unparsable" && latest?.meta.progress !== undefined) break;
                await new Promise((resolve) => setTimeout(resolve, 5));
              }
              agent.cancel("s", "stop");
              await aborted(ctx.signal);
            },
          },
        }),
      )
      .addEdge(START, "first")
      .addEdge("first", "group")
      .addEdge("group", END)
      .compile();
    const agent = new GraphAgent({ graph, store });
    expect((await agent.run({}, { sessionId: "s" })).status).toBe("cancelled");
    const history = await agent.history("s");
    expect(history.some((entry) => entry.meta?.progress !== undefined)).toBe(true);
    expect((await agent.resume("s")).status).toBe("completed");
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });

  it("changes for the nodes a go_back, a request_changes and a fork run again", async () => {
    const store = new MemoryStore();
    const keys: string[] = [];
    const node = (name: string) => (_s: unknown, ctx: NodeContext) => {
      keys.push(`${name}:${ctx.idempotencyKey}`);
    };
    const graph = new Graph({ state: State })
      .addNode("draft", node("draft"))
      .addNode("review", node("review"))
      .addNode("publish", node("publish"))
      .addEdge(START, "draft")
      .addEdge("draft", "review")
      .addEdge("review", "publish")
      .addEdge("publish", END)
      .compile();
    const interrupts = new InterruptService({ store });
    const agent = new GraphAgent({
      graph,
      store,
      interrupts,
      interruptConfig: { approvals: { review: {} } },
    });
    expect((await agent.run({}, { sessionId: "s" })).status).toBe("paused");
    await interrupts.send("s", { type: "go_back", to: "draft" });
    expect((await agent.resume("s")).status).toBe("paused");
    await interrupts.send("s", { type: "request_changes", feedback: "shorter" });
    expect((await agent.resume("s")).status).toBe("paused");
    await interrupts.send("s", { type: "approve" });
    expect((await agent.resume("s")).status).toBe("completed");
    // A fork from a checkpoint of `draft` runs `review` again, as a step of its own too.
    const drafted = (await agent.history("s")).filter((entry) => entry.node === "draft").at(-1)!;
    expect((await agent.fork("s", drafted.id)).status).toBe("paused");
    expect(keys.map((k) => k.split(":")[0])).toEqual([
      "draft",
      "review",
      "draft",
      "review",
      "review",
      "publish",
      "review",
    ]);
    expect(new Set(keys.map((k) => k.split(":")[1])).size).toBe(7);
  });
});
