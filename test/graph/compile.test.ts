import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CompiledGraph,
  END,
  Graph,
  type GraphProblem,
  GraphValidationError,
  START,
} from "../../src/index.js";

const State = z.object({ n: z.number().default(0), done: z.boolean().default(false) });
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

const has = (problems: readonly GraphProblem[], code: GraphProblem["code"], node?: string) =>
  problems.some((p) => p.code === code && (node === undefined || p.node === node));

describe("Graph.compile", () => {
  it("reports every problem of a broken graph at once", () => {
    const graph = new Graph({ state: State, name: "broken" })
      .addNode("a", noop)
      .addNode("b", noop)
      .addNode("island", noop)
      .addNode("dead", noop)
      .addNode("x", noop)
      .addNode("y", noop)
      .addNode("m", noop)
      .addEdge(START, "a")
      // Unknown node in an edge.
      .addEdge("a", "ghost")
      // Duplicate edge.
      .addEdge("a", "b")
      .addEdge("a", "b")
      .addEdge("b", END)
      // `dead` has no outgoing edge and is not a finish node.
      .addEdge("b", "dead")
      // An unconditional cycle x → y → x, reachable from `b`.
      .addEdge("b", "x")
      .addEdge("x", "y")
      .addEdge("y", "x")
      // Mixed plain and conditional edges.
      .addEdge("a", "m")
      .addEdge("m", END)
      .addConditionalEdges("m", () => END, [END]);
    // `island` has no edge leading to it.

    const problems = problemsOf(() => graph.compile());

    expect(has(problems, "UNKNOWN_NODE", "ghost")).toBe(true);
    expect(has(problems, "DUPLICATE_EDGE", "a")).toBe(true);
    expect(has(problems, "UNREACHABLE_NODE", "island")).toBe(true);
    expect(has(problems, "CANNOT_REACH_END", "dead")).toBe(true);
    expect(has(problems, "CANNOT_REACH_END", "x")).toBe(true);
    expect(has(problems, "UNCONDITIONAL_CYCLE")).toBe(true);
    expect(has(problems, "MIXED_EDGES", "m")).toBe(true);
    expect(has(problems, "UNREACHABLE_NODE", "a")).toBe(false);
  });

  it("reports a missing START edge together with the graph's other problems", () => {
    const graph = new Graph({ state: State })
      .addNode("a", noop)
      .addNode("b", noop)
      .addNode("x", noop)
      .addNode("y", noop)
      .addEdge("a", "b")
      .addEdge("a", "b")
      .addEdge("a", "nowhere")
      .addEdge("x", "y")
      .addEdge("y", "x")
      .addEdge("b", END)
      .addConditionalEdges("b", () => END);

    const problems = problemsOf(() => graph.compile());

    expect(has(problems, "NO_ENTRY")).toBe(true);
    expect(has(problems, "DUPLICATE_EDGE", "a")).toBe(true);
    expect(has(problems, "UNKNOWN_NODE", "nowhere")).toBe(true);
    expect(has(problems, "UNCONDITIONAL_CYCLE")).toBe(true);
    expect(has(problems, "MIXED_EDGES", "b")).toBe(true);
  });

  it("lists every problem in the error message, with a fix", () => {
    const graph = new Graph({ state: State, name: "shop" })
      .addNode("a", noop)
      .addNode("lonely", noop)
      .addEdge(START, "a")
      .addEdge("a", END);

    const error = (() => {
      try {
        graph.compile();
      } catch (e) {
        return e as GraphValidationError;
      }
      throw new Error("compile() did not throw");
    })();

    expect(error.code).toBe("GRAPH_INVALID");
    expect(error.name).toBe("GraphValidationError");
    expect(error.message).toContain("`shop`");
    expect(error.message).toContain("`lonely`");
    expect(error.problems).toHaveLength(error.message.split("\n  - ").length - 1);
  });

  it("reports an edge that starts at an unknown node", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State })
        .addNode("a", noop)
        .addEdge(START, "a")
        .addEdge("a", END)
        .addEdge("phantom", "a")
        .compile(),
    );
    expect(has(problems, "UNKNOWN_NODE", "phantom")).toBe(true);
  });

  it("reports a node that can only loop without ever reaching END", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State })
        .addNode("a", noop)
        .addNode("spin", noop)
        .addEdge(START, "a")
        .addConditionalEdges("a", { routes: [{ to: "spin", when: () => true }], fallback: END })
        .addConditionalEdges("spin", { routes: [{ to: "spin", when: () => true }] })
        .compile(),
    );
    expect(has(problems, "CANNOT_REACH_END", "spin")).toBe(true);
    expect(has(problems, "CANNOT_REACH_END", "a")).toBe(false);
  });

  it("reports nodes added twice, reserved names and reducers for unknown keys", () => {
    const problems = problemsOf(() =>
      new Graph({ state: State, reducers: { nope: "sum" } as never })
        .addNode("a", noop)
        .addNode("a", noop)
        .addNode("p/q", noop)
        .addEdge(START, "a")
        .addEdge("a", END)
        .addEdge("p/q", END)
        .compile(),
    );
    expect(has(problems, "DUPLICATE_NODE", "a")).toBe(true);
    expect(has(problems, "RESERVED_NAME", "p/q")).toBe(true);
    expect(has(problems, "UNKNOWN_REDUCER_KEY")).toBe(true);
  });

  it("compiles a graph whose cycles go through conditional edges", () => {
    const compiled = new Graph({ state: State })
      .addNode("draft", noop)
      .addNode("critique", noop)
      .addNode("publish", noop)
      .addEdge(START, "draft")
      .addEdge("draft", "critique")
      .addConditionalEdges("critique", {
        routes: [{ to: "draft", when: (s) => s.n < 3, label: "revise" }],
        fallback: "publish",
      })
      .addEdge("publish", END)
      .compile();

    expect(compiled).toBeInstanceOf(CompiledGraph);
    expect(compiled.nodeNames).toEqual(["draft", "critique", "publish"]);
  });

  it("compiles a self-loop through a router and a finish node without edges", () => {
    expect(() =>
      new Graph({ state: State })
        .addNode("inc", noop)
        .addNode("report", noop, { finish: true })
        .addEdge(START, "inc")
        .addConditionalEdges("inc", (s) => (s.n < 3 ? "inc" : "report"), ["inc", "report"])
        .compile(),
    ).not.toThrow();
  });

  it("accepts Command targets declared with `goto` as edges", () => {
    expect(() =>
      new Graph({ state: State })
        .addNode("triage", noop, { goto: ["urgent", END] })
        .addNode("urgent", noop)
        .addEdge(START, "triage")
        .addEdge("urgent", END)
        .compile(),
    ).not.toThrow();
  });
});
