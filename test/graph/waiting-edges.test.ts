import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  END,
  Graph,
  GraphAgent,
  type GraphProblem,
  GraphValidationError,
  InvalidOptionError,
  type NodeFn,
  START,
} from "../../src/index.js";

const State = z.object({ log: z.array(z.string()).default([]) });
type State = z.output<typeof State>;

const step =
  (name: string): NodeFn<State> =>
  () => ({ log: [name] });

/** a → b → join and a → c → c2 → join: uneven branches, joined by a waiting edge. */
function uneven() {
  return new Graph({ state: State, reducers: { log: "append" }, name: "uneven" })
    .addNode("a", step("a"))
    .addNode("b", step("b"))
    .addNode("c", step("c"))
    .addNode("c2", step("c2"))
    .addNode("join", step("join"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("a", "c")
    .addEdge("c", "c2")
    .addEdge(["b", "c2"], "join")
    .addEdge("join", END);
}

function problemsOf(compile: () => unknown): readonly GraphProblem[] {
  try {
    compile();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphValidationError);
    return (error as GraphValidationError).problems;
  }
  throw new Error("compile() did not throw");
}

describe("waiting edges: addEdge([...sources], target)", () => {
  it("compile, and tell the run loop what each target waits for", () => {
    const graph = uneven().compile();
    expect(graph.barrierOf("join")).toEqual(["b", "c2"]);
    expect(graph.barrierOf("b")).toBeUndefined();
    expect(graph.waitersOf("b")).toEqual(["join"]);
    expect(graph.waitersOf("c2")).toEqual(["join"]);
    expect(graph.waitersOf("a")).toEqual([]);
    expect(graph.waitingEdges).toEqual([{ sources: ["b", "c2"], target: "join" }]);
    expect(Object.isFrozen(graph.waitingEdges)).toBe(true);
    // Plain edges are unchanged: a waiting edge is not an outgoing edge of its sources.
    expect(graph.edges("b")).toBeUndefined();
  });

  it("let a source also have plain edges to other nodes", () => {
    const graph = uneven()
      .addNode("audit", step("audit"))
      .addEdge("b", "audit")
      .addEdge("audit", END);
    expect(() => graph.compile()).not.toThrow();
  });

  it("count as a path for reachability and for reaching END", () => {
    const problems = problemsOf(() =>
      uneven().addNode("lonely", step("lonely")).addEdge("lonely", END).compile(),
    );
    // Only `lonely` is unreachable; `join` (reached through the waiting edge) is not, and
    // `b` and `c2`, whose only edge is the waiting edge, can reach END.
    expect(problems.map((p) => [p.code, p.node])).toEqual([["UNREACHABLE_NODE", "lonely"]]);
  });

  it("report an unconditional cycle that goes through a waiting edge", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State })
        .addNode("a", step("a"))
        .addNode("b", step("b"))
        .addNode("join", step("join"))
        .addEdge(START, "a")
        .addEdge("a", "b")
        .addEdge(["a", "b"], "join")
        .addEdge("join", "a")
        .compile(),
    );
    expect(problems.some((p) => p.code === "UNCONDITIONAL_CYCLE")).toBe(true);
  });

  it("report sources and targets that are not nodes, with a suggestion and a fix", () => {
    const problems = problemsOf(() => uneven().addEdge(["b", "c3"], "jion").compile());
    const unknown = problems.filter((p) => p.code === "UNKNOWN_NODE");
    expect(unknown.map((p) => p.node)).toEqual(["jion", "c3"]);
    expect(unknown[0]?.message).toContain("Did you mean `join`?");
    expect(unknown[1]?.message).toContain("Did you mean `c2`?");
    for (const problem of unknown) expect(problem.message).toContain("Fix the name");
  });

  it("report START and END as sources or targets", () => {
    const problems = problemsOf(() =>
      uneven()
        .addEdge([START, "b"], "a")
        .addEdge(["b", END], "c")
        .addEdge(["b", "c2"], END)
        .compile(),
    );
    const invalid = problems.filter((p) => p.code === "INVALID_WAITING_EDGE");
    expect(invalid.map((p) => p.message)).toEqual([
      expect.stringContaining("lists START, which is not a node that runs"),
      expect.stringContaining("lists END, which is not a node that runs"),
      expect.stringContaining("A waiting edge goes to END"),
    ]);
  });

  it("report a source listed twice, a target that waits for itself, and a second waiting edge into a target", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State })
        .addNode("a", step("a"))
        .addNode("b", step("b"))
        .addNode("join", step("join"))
        .addNode("other", step("other"))
        .addEdge(START, "a")
        .addEdge("a", "b")
        .addEdge(["a", "b", "a"], "join")
        .addEdge(["a", "b"], "join")
        .addEdge(["b", "other"], "other")
        .addEdge("join", END)
        .compile(),
    );
    const messages = problems
      .filter((p) => p.code === "INVALID_WAITING_EDGE")
      .map((p) => p.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          "already waits for `a`, `b`, `a`; a second waiting edge lists `a`, `b`",
        ),
        expect.stringContaining("lists `a` twice"),
        expect.stringContaining("lists `other` itself"),
      ]),
    );
  });

  it("report the same waiting edge added twice as a duplicate edge", () => {
    const problems = problemsOf(() => uneven().addEdge(["c2", "b"], "join").compile());
    expect(problems.map((p) => p.code)).toEqual(["DUPLICATE_EDGE"]);
  });

  it("report a source that chooses where to go, since the target could wait for ever", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State })
        .addNode("a", step("a"))
        .addNode("b", step("b"))
        .addNode("join", step("join"))
        .addEdge(START, "a")
        .addEdge(START, "b")
        .addConditionalEdges("a", (s) => (s.log.length > 3 ? END : "join"), [END, "join"])
        .addEdge(["a", "b"], "join")
        .addEdge("join", END)
        .compile(),
    );
    const problem = problems.find((p) => p.code === "INVALID_WAITING_EDGE");
    expect(problem?.node).toBe("a");
    expect(problem?.message).toContain("Give `a` plain edges only");
  });

  it("refuse an empty list of sources", () => {
    expect(() => new Graph({ state: State }).addEdge([], "a")).toThrow(InvalidOptionError);
  });

  it("are drawn as thick arrows labelled `waits`", () => {
    const mermaid = uneven().compile().toMermaid();
    expect(mermaid).toContain('  b == "waits" ==> join\n');
    expect(mermaid).toContain('  c2 == "waits" ==> join\n');
  });

  // `join` runs exactly once, after both `b` and `c2`, so it sees both updates and the log is
  // a, b, c, c2, join (b and c run in one step, then c2, then join).
  it("runs the target once, after every source, with uneven branches", async () => {
    const seen: string[][] = [];
    const graph = uneven().compile();
    const agent = new GraphAgent({ graph });
    agent.on("node:started", (event) => {
      if (event.node === "join") seen.push([]);
    });
    const result = await agent.run({});
    expect(result.status).toBe("completed");
    expect(seen).toHaveLength(1);
    expect(result.state.log).toEqual(["a", "b", "c", "c2", "join"]);
    expect(result.path.filter((n) => n === "join")).toEqual(["join"]);
  });
});

describe("waiting edges in a run", () => {
  it("wait again on every round of a cycle", async () => {
    const Looped = z.object({ log: z.array(z.string()).default([]), round: z.number().default(0) });
    type Looped = z.output<typeof Looped>;
    const graph = new Graph({ state: Looped, reducers: { log: "append" } })
      .addNode("fork", (s: Looped) => ({ round: s.round + 1 }))
      .addNode("fast", () => ({ log: ["fast"] }))
      .addNode("slow", () => ({ log: ["slow"] }))
      .addNode("slow2", () => ({ log: ["slow2"] }))
      .addNode("join", () => ({ log: ["join"] }))
      .addEdge(START, "fork")
      .addEdge("fork", "fast")
      .addEdge("fork", "slow")
      .addEdge("slow", "slow2")
      .addEdge(["fast", "slow2"], "join")
      .addConditionalEdges("join", {
        routes: [{ when: (s: Looped) => s.round < 3, to: "fork" }],
        fallback: END,
      })
      .compile();
    const result = await new GraphAgent({ graph }).run({});
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(
      Array.from({ length: 3 }, () => ["fast", "slow", "slow2", "join"]).flat(),
    );
  });

  it("keep what a target waits for in the checkpoint, so a resume from any step joins once", async () => {
    const graph = uneven().compile();
    const agent = new GraphAgent({ graph });
    await agent.run({}, { sessionId: "w" });
    // Fork from every checkpoint of the run: each continuation runs `join` exactly once.
    for (const checkpoint of await agent.history("w")) {
      if (checkpoint.status !== "running") continue;
      const result = await agent.fork("w", checkpoint.id, { toSessionId: `w-${checkpoint.id}` });
      expect(result.status).toBe("completed");
      expect(result.state.log.filter((entry) => entry === "join")).toEqual(["join"]);
      expect(result.state.log.slice(-1)).toEqual(["join"]);
    }
  });

  it("never run the target when a source fails", async () => {
    const graph = new Graph({ state: State, reducers: { log: "append" } })
      .addNode("a", step("a"))
      .addNode("b", step("b"))
      .addNode("c", () => {
        throw new Error("c broke");
      })
      .addNode("join", step("join"))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("a", "c")
      .addEdge(["b", "c"], "join")
      .addEdge("join", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({});
    expect(result.status).toBe("failed");
    expect(result.state.log).not.toContain("join");
  });
});
