import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  Command,
  END,
  Graph,
  GraphAgent,
  type GraphEvents,
  type NodeFn,
  NoRouteError,
  START,
  UnknownNodeError,
} from "../../src/index.js";

const State = z.object({
  score: z.number().default(0),
  log: z.array(z.string()).default([]),
  total: z.number().default(0),
});
type State = z.output<typeof State>;

/** A node that appends its own name to `log`. */
const visit =
  (name: string): NodeFn<State> =>
  () => ({ log: [name] });

function graph() {
  return new Graph({ state: State, reducers: { log: "append", total: "sum" } });
}

function edges(agent: GraphAgent<State>) {
  const taken: GraphEvents["edge:taken"][] = [];
  agent.on("edge:taken", (e) => taken.push(e));
  return taken;
}

describe("routing", () => {
  it("follows plain edges from START to END", async () => {
    const compiled = graph()
      .addNode("a", visit("a"))
      .addNode("b", visit("b"))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.status).toBe("completed");
    expect(result.path).toEqual(["a", "b"]);
    expect(result.state.log).toEqual(["a", "b"]);
  });

  it("tries conditional routes by priority, highest first", async () => {
    const compiled = graph()
      .addNode("start", visit("start"))
      .addNode("low", visit("low"), { finish: true })
      .addNode("high", visit("high"), { finish: true })
      .addNode("negative", visit("negative"), { finish: true })
      .addEdge(START, "start")
      .addConditionalEdges("start", {
        routes: [
          { to: "negative", when: () => true, priority: -1 },
          { to: "low", when: () => true },
          { to: "high", when: () => true, priority: 5 },
        ],
      })
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.path).toEqual(["start", "high"]);
  });

  it("keeps declaration order between routes of equal priority", async () => {
    const compiled = graph()
      .addNode("start", visit("start"))
      .addNode("first", visit("first"), { finish: true })
      .addNode("second", visit("second"), { finish: true })
      .addEdge(START, "start")
      .addConditionalEdges("start", {
        routes: [
          { to: "first", when: () => true, priority: 2 },
          { to: "second", when: () => true, priority: 2 },
        ],
      })
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.path).toEqual(["start", "first"]);
  });

  it("evaluates conditions on the state after the node's update", async () => {
    const compiled = graph()
      .addNode("grade", () => ({ score: 9 }))
      .addNode("good", visit("good"), { finish: true })
      .addNode("bad", visit("bad"), { finish: true })
      .addEdge(START, "grade")
      .addConditionalEdges("grade", {
        routes: [{ to: "good", when: (s) => s.score >= 8 }],
        fallback: "bad",
      })
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({ score: 0 });
    expect(result.path).toEqual(["grade", "good"]);
  });

  it("takes the fallback when no route matches", async () => {
    const compiled = graph()
      .addNode("start", visit("start"))
      .addNode("never", visit("never"), { finish: true })
      .addNode("else", visit("else"), { finish: true })
      .addEdge(START, "start")
      .addConditionalEdges("start", {
        routes: [{ to: "never", when: () => false }],
        fallback: "else",
      })
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.path).toEqual(["start", "else"]);
  });

  it("fails the run with NoRouteError when no route matches and there is no fallback", async () => {
    const compiled = graph()
      .addNode("start", visit("start"))
      .addNode("never", visit("never"), { finish: true })
      .addEdge(START, "start")
      .addConditionalEdges("start", { routes: [{ to: "never", when: () => false }] })
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(NoRouteError);
    expect((result.error as NoRouteError).node).toBe("start");
    expect(result.error?.message).toContain("no condition matched");
  });

  it("ends a finish node whose routes do not match instead of failing", async () => {
    const compiled = graph()
      .addNode("start", visit("start"), { finish: true })
      .addNode("never", visit("never"), { finish: true })
      .addEdge(START, "start")
      .addConditionalEdges("start", { routes: [{ to: "never", when: () => false }] })
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.status).toBe("completed");
    expect(result.path).toEqual(["start"]);
  });

  it("goes where a router sends it", async () => {
    const compiled = graph()
      .addNode("start", () => ({ score: 2 }))
      .addNode("one", visit("one"), { finish: true })
      .addNode("two", visit("two"), { finish: true })
      .addEdge(START, "start")
      .addConditionalEdges("start", (s) => (s.score === 2 ? "two" : "one"), ["one", "two"])
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.path).toEqual(["start", "two"]);
  });

  it("ends the run when a router returns END", async () => {
    const after = vi.fn(visit("after"));
    const compiled = graph()
      .addNode("start", visit("start"))
      .addNode("after", after, { finish: true })
      .addEdge(START, "start")
      .addConditionalEdges("start", () => END, ["after", END])
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.status).toBe("completed");
    expect(result.path).toEqual(["start"]);
    expect(after).not.toHaveBeenCalled();
  });

  it("runs every node a router fans out to and combines their updates", async () => {
    const seen: State[] = [];
    const join = vi.fn<NodeFn<State>>((s) => {
      seen.push(s);
      return undefined;
    });
    const compiled = graph()
      .addNode("split", visit("split"))
      .addNode("left", () => ({ log: ["left"], total: 1 }))
      .addNode("right", () => ({ log: ["right"], total: 10, score: 7 }))
      .addNode("join", join)
      .addEdge(START, "split")
      .addConditionalEdges("split", () => ["left", "right"], ["left", "right"])
      .addEdge("left", "join")
      .addEdge("right", "join")
      .addEdge("join", END)
      .compile();

    const result = await new GraphAgent({ graph: compiled }).run({});

    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["split", "left", "right"]);
    expect(result.state.total).toBe(11);
    expect(result.state.score).toBe(7);
    expect(result.path).toEqual(["split", "left", "right", "join"]);
    // Both branches lead to `join`, which runs once, on the combined state.
    expect(join).toHaveBeenCalledTimes(1);
    expect(seen[0]?.total).toBe(11);
  });

  it("runs fanned-out nodes on the same state, concurrently", async () => {
    const seenScores: number[] = [];
    let running = 0;
    let overlap = 0;
    const branch =
      (name: string): NodeFn<State> =>
      async (s) => {
        seenScores.push(s.score);
        running++;
        await Promise.resolve();
        overlap = Math.max(overlap, running);
        running--;
        return { log: [name] };
      };
    const compiled = graph()
      .addNode("a", branch("a"))
      .addNode("b", branch("b"))
      .addEdge(START, "a")
      .addEdge(START, "b")
      .addEdge("a", END)
      .addEdge("b", END)
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({ score: 3 });
    expect(result.state.log).toEqual(["a", "b"]);
    expect(seenScores).toEqual([3, 3]);
    expect(overlap).toBe(2);
  });

  it("lets a Command's goto override the node's edges", async () => {
    const planned = vi.fn(visit("planned"));
    const compiled = graph()
      .addNode("start", () => new Command<State>({ update: { score: 1 }, goto: "detour" }), {
        goto: ["detour"],
      })
      .addNode("planned", planned)
      .addNode("detour", visit("detour"))
      .addEdge(START, "start")
      .addEdge("start", "planned")
      .addEdge("planned", END)
      .addEdge("detour", END)
      .compile();

    const result = await new GraphAgent({ graph: compiled }).run({});

    expect(result.path).toEqual(["start", "detour"]);
    expect(result.state.score).toBe(1);
    expect(planned).not.toHaveBeenCalled();
  });

  it("fans out to every node a Command's goto lists", async () => {
    const compiled = graph()
      .addNode("start", () => Command.goto<State>(["x", "y"]), { goto: ["x", "y"] })
      .addNode("x", visit("x"), { finish: true })
      .addNode("y", visit("y"), { finish: true })
      .addEdge(START, "start")
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect([...result.state.log].sort()).toEqual(["x", "y"]);
  });

  it("ends the run with Command.end(), applying its update", async () => {
    const next = vi.fn(visit("next"));
    const compiled = graph()
      .addNode("start", () => Command.end<State>({ score: 42 }))
      .addNode("next", next)
      .addEdge(START, "start")
      .addEdge("start", "next")
      .addEdge("next", END)
      .compile();

    const result = await new GraphAgent({ graph: compiled }).run({});

    expect(result.status).toBe("completed");
    expect(result.path).toEqual(["start"]);
    expect(result.state.score).toBe(42);
    expect(next).not.toHaveBeenCalled();
  });

  it("fails the run with UnknownNodeError when a Command goes to a node that does not exist", async () => {
    const compiled = graph()
      .addNode("start", () => Command.goto<State>("nowhere"))
      .addEdge(START, "start")
      .addEdge("start", END)
      .compile();

    const result = await new GraphAgent({ graph: compiled }).run({});

    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(UnknownNodeError);
    expect((result.error as UnknownNodeError).node).toBe("nowhere");
    expect(result.error?.message).toContain("start");
  });

  it("fails the run with UnknownNodeError when a router names a node that does not exist", async () => {
    const compiled = graph()
      .addNode("start", visit("start"))
      .addEdge(START, "start")
      .addConditionalEdges("start", () => "typo")
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(UnknownNodeError);
  });

  it("ends the run after a finish node that has no edges", async () => {
    const compiled = graph()
      .addNode("start", visit("start"))
      .addNode("last", visit("last"), { finish: true })
      .addEdge(START, "start")
      .addEdge("start", "last")
      .compile();
    const result = await new GraphAgent({ graph: compiled }).run({});
    expect(result.status).toBe("completed");
    expect(result.path).toEqual(["start", "last"]);
  });

  it("tells why each edge was taken in `edge:taken` events", async () => {
    const compiled = graph()
      .addNode("plain", visit("plain"))
      .addNode("cond", visit("cond"))
      .addNode("fall", visit("fall"))
      .addNode("routed", visit("routed"))
      .addNode("commanded", () => Command.goto<State>(END))
      .addEdge(START, "plain")
      .addEdge("plain", "cond")
      .addConditionalEdges("cond", {
        routes: [{ to: "fall", when: () => true, label: "looks good" }],
      })
      .addConditionalEdges("fall", {
        routes: [{ to: "cond", when: () => false }],
        fallback: "routed",
      })
      .addConditionalEdges("routed", () => "commanded", ["commanded"])
      .addEdge("commanded", END)
      .compile();
    const agent = new GraphAgent({ graph: compiled });
    const taken = edges(agent);

    await agent.run({});

    expect(taken.map(({ from, to, reason, label }) => ({ from, to, reason, label }))).toEqual([
      { from: "plain", to: ["cond"], reason: "edge", label: undefined },
      { from: "cond", to: ["fall"], reason: "condition", label: "looks good" },
      { from: "fall", to: ["routed"], reason: "fallback", label: undefined },
      { from: "routed", to: ["commanded"], reason: "router", label: undefined },
      { from: "commanded", to: [], reason: "command", label: undefined },
    ]);
  });
});
