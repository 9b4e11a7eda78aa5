import { describe, expect, it } from "vitest";
import { z } from "zod";
import { closestName, didYouMean, editDistance } from "../../src/graph/suggest.js";
import {
  Command,
  END,
  Graph,
  GraphAgent,
  type GraphProblem,
  GraphValidationError,
  START,
  UnknownNodeError,
} from "../../src/index.js";

const State = z.object({ n: z.number().default(0), draft: z.string().default("") });
const noop = () => undefined;

function problemsOf(compile: () => unknown): readonly GraphProblem[] {
  try {
    compile();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphValidationError);
    return (error as GraphValidationError).problems;
  }
  throw new Error("compile() did not throw");
}

describe("editDistance and closestName", () => {
  it("count insertions, deletions, substitutions and swaps", () => {
    expect(editDistance("review", "review")).toBe(0);
    expect(editDistance("reviw", "review")).toBe(1);
    expect(editDistance("revie", "review")).toBe(1);
    expect(editDistance("rveiew", "review")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("suggest the closest name only when it is a likely typo", () => {
    expect(closestName("reviw", ["draft", "review", "publish"])).toBe("review");
    expect(closestName("Review", ["review"])).toBe("review");
    expect(closestName("xyz", ["draft", "review"])).toBeUndefined();
    expect(closestName("a", ["b"])).toBeUndefined();
    expect(didYouMean("pubish", ["publish"])).toBe(" Did you mean `publish`?");
    expect(didYouMean("zzz", ["publish"])).toBe("");
  });
});

describe("compile() messages", () => {
  it("suggest the node meant by an edge to a misspelt node", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State })
        .addNode("draft", noop)
        .addNode("review", noop)
        .addEdge(START, "draft")
        .addEdge("draft", "reviw")
        .addEdge("review", END)
        .compile(),
    );
    const unknown = problems.find((p) => p.code === "UNKNOWN_NODE");
    expect(unknown?.message).toContain("Did you mean `review`?");
    expect(unknown?.message).toContain('addNode("reviw", …)');
  });

  it("suggest the node meant by an edge from, or a goto to, a misspelt node", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State })
        .addNode("draft", noop, { goto: ["reveiw"] })
        .addNode("review", noop)
        .addEdge(START, "draft")
        .addEdge("drfat", "review")
        .addEdge("review", END)
        .compile(),
    );
    const messages = problems.filter((p) => p.code === "UNKNOWN_NODE").map((p) => p.message);
    expect(messages).toEqual([
      expect.stringContaining("Did you mean `draft`?"),
      expect.stringContaining("Did you mean `review`?"),
    ]);
  });

  it("point a string `end` at the END constant", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State })
        .addNode("a", noop)
        .addEdge(START, "a")
        .addEdge("a", "end")
        .compile(),
    );
    expect(problems.find((p) => p.code === "UNKNOWN_NODE")?.message).toContain("`END` constant");
  });

  it("suggest the state key meant by a reducer for an unknown key", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State, reducers: { drafts: "append" } as never })
        .addNode("a", noop)
        .addEdge(START, "a")
        .addEdge("a", END)
        .compile(),
    );
    const message = problems.find((p) => p.code === "UNKNOWN_REDUCER_KEY")?.message;
    expect(message).toContain("Did you mean `draft`?");
    expect(message).toContain("add `drafts` to the state schema");
  });

  it("say how to fix every problem", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State, reducers: { nope: "sum" } as never })
        .addNode("a", noop)
        .addNode("a", noop)
        .addNode("p/q", noop)
        .addNode("island", noop)
        .addNode("dead", noop)
        .addNode("x", noop)
        .addNode("y", noop)
        .addNode("m", noop, { goto: ["ghost"] })
        .addNode("spin", noop)
        .addEdge("a", "ghost")
        .addEdge("a", "b")
        .addEdge("a", "b")
        .addEdge("a", "dead")
        .addEdge("a", "x")
        .addEdge("x", "y")
        .addEdge("y", "x")
        .addEdge("a", "m")
        .addEdge("m", END)
        .addConditionalEdges("m", () => END)
        .addEdge("phantom", "a")
        .addEdge("p/q", END)
        .addConditionalEdges("spin", { routes: [{ to: "spin", when: () => true }] })
        .compile(),
    );
    const reachability = problemsOf(() =>
      new Graph({ state: State })
        .addNode("a", noop)
        .addNode("island", noop)
        .addNode("spin", noop)
        .addEdge(START, "a")
        .addConditionalEdges("a", { routes: [{ to: "spin", when: () => true }], fallback: END })
        .addConditionalEdges("spin", { routes: [{ to: "spin", when: () => true }] })
        .addEdge("island", END)
        .compile(),
    );
    const all = [...problems, ...reachability];
    const codes = new Set(all.map((p) => p.code));
    expect(codes.size).toBe(10);
    for (const problem of all) {
      expect(problem.message, problem.code).toMatch(
        /\b(Add|Remove|Rename|Fix|Make|Give|Combine|mark|use the)\b/,
      );
    }
  });
});

describe("UnknownNodeError", () => {
  function agentWith(route: (s: z.output<typeof State>) => unknown, asCommand: boolean) {
    const graph = new Graph({ state: State })
      .addNode(
        "draft",
        asCommand ? () => Command.goto(route({ n: 0, draft: "" }) as string) : noop,
        asCommand ? { goto: ["review"] } : {},
      )
      .addNode("review", noop)
      .addEdge(START, "draft")
      .addEdge("review", END);
    if (!asCommand) graph.addConditionalEdges("draft", route as () => string);
    return new GraphAgent({ graph: graph.compile() });
  }

  it("suggests the node a router meant", async () => {
    const result = await agentWith(() => "reveiw", false).run({});
    expect(result.error).toBeInstanceOf(UnknownNodeError);
    expect((result.error as UnknownNodeError).suggestion).toBe("review");
    expect(result.error?.message).toContain("Did you mean `review`?");
  });

  it("suggests the node a Command meant", async () => {
    const result = await agentWith(() => "revew", true).run({});
    expect(result.error).toBeInstanceOf(UnknownNodeError);
    expect(result.error?.message).toContain("Did you mean `review`?");
  });
});
