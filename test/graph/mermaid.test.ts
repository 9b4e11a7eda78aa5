import { describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, START } from "../../src/index.js";

const State = z.object({ score: z.number().default(0), round: z.number().default(0) });
const noop = () => undefined;

/** The node ids a Mermaid flowchart declares (`id["label"]` or `id([label])`). */
function declaredIds(chart: string): string[] {
  return chart
    .split("\n")
    .map((line) => /^\s+([^\s[(]+)[[(]/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
}

/** Each declared node's label, keyed by its id (`START`/`END` for the round nodes). */
function labels(chart: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of chart.split("\n")) {
    const match = /^\s+([^\s[(]+)(?:\["(.*)"\]|\(\[(.*)\]\))$/.exec(line);
    if (match) out.set(match[1]!, (match[2] ?? match[3]!).replace(/#quot;/g, '"'));
  }
  return out;
}

/** The chart's edges, with node labels instead of ids: `a --> b` or `a -.label.-> b`. */
function edgesOf(chart: string): string[] {
  const names = labels(chart);
  const name = (id: string) => names.get(id) ?? `<undeclared ${id}>`;
  const out: string[] = [];
  for (const line of chart.split("\n")) {
    const solid = /^\s+(\S+) --> (\S+)$/.exec(line);
    if (solid) out.push(`${name(solid[1]!)} --> ${name(solid[2]!)}`);
    const dotted = /^\s+(\S+) -\. "(.*)" \.-> (\S+)$/.exec(line);
    if (dotted) {
      const text = dotted[2]!.replace(/#quot;/g, '"');
      out.push(`${name(dotted[1]!)} -.${text}.-> ${name(dotted[3]!)}`);
    }
  }
  return out;
}

describe("CompiledGraph.toMermaid", () => {
  const chart = new Graph({ state: State })
    .addNode("draft", noop)
    .addNode("critique", noop)
    .addNode("final", noop)
    .addEdge(START, "draft")
    .addEdge("draft", "critique")
    .addConditionalEdges("critique", {
      routes: [
        { to: "final", when: (s) => s.score >= 8, priority: 1, label: "good" },
        { to: "draft", when: (s) => s.round < 3, label: "revise" },
      ],
      fallback: END,
    })
    .addEdge("final", END)
    .compile()
    .toMermaid();

  it("is a top-down flowchart", () => {
    expect(chart.startsWith("flowchart TD\n")).toBe(true);
  });

  it("shows START and END as round nodes", () => {
    expect(chart).toMatch(/^\s+\S+\(\[START\]\)$/m);
    expect(chart).toMatch(/^\s+\S+\(\[END\]\)$/m);
  });

  it("declares every node once, with its name as the label", () => {
    expect([...labels(chart).values()].sort()).toEqual(
      ["END", "START", "critique", "draft", "final"].sort(),
    );
  });

  it("draws every edge and nothing else", () => {
    expect(edgesOf(chart).sort()).toEqual(
      [
        "START --> draft",
        "draft --> critique",
        "critique -.good.-> final",
        "critique -.revise.-> draft",
        "critique -.fallback.-> END",
        "final --> END",
      ].sort(),
    );
  });

  it("draws plain edges as solid arrows, from START too", () => {
    const edges = edgesOf(chart);
    expect(edges).toContain("START --> draft");
    expect(edges).toContain("draft --> critique");
    expect(edges).toContain("final --> END");
  });

  it("draws conditional edges dotted, with their labels", () => {
    const edges = edgesOf(chart);
    expect(edges).toContain("critique -.good.-> final");
    expect(edges).toContain("critique -.revise.-> draft");
  });

  it("labels the fallback of conditional edges", () => {
    expect(edgesOf(chart)).toContain("critique -.fallback.-> END");
  });

  it("labels an unlabelled route with its priority", () => {
    const text = new Graph({ state: State })
      .addNode("a", noop)
      .addEdge(START, "a")
      .addConditionalEdges("a", { routes: [{ to: END, when: () => true, priority: 2 }] })
      .compile()
      .toMermaid();
    expect(edgesOf(text)).toContain("a -.priority 2.-> END");
  });

  it("shows router targets, Command gotos and finish nodes", () => {
    const text = new Graph({ state: State })
      .addNode("route", noop)
      .addNode("jump", noop, { goto: ["done"] })
      .addNode("done", noop, { finish: true })
      .addEdge(START, "route")
      .addConditionalEdges("route", () => "jump", ["jump", "done"])
      .compile()
      .toMermaid();
    expect(edgesOf(text)).toEqual(
      expect.arrayContaining([
        "route -.router.-> jump",
        "route -.router.-> done",
        "jump -.goto.-> done",
        "done --> END",
      ]),
    );
  });

  it("escapes quotes in labels", () => {
    const text = new Graph({ state: State })
      .addNode("a", noop)
      .addEdge(START, "a")
      .addConditionalEdges("a", {
        routes: [{ to: END, when: () => true, label: 'say "done"' }],
      })
      .compile()
      .toMermaid();
    expect(text).not.toContain('"say "done""');
    expect(text).toContain("#quot;done#quot;");
    expect(edgesOf(text)).toContain('a -.say "done".-> END');
  });

  it("gives nodes whose names differ only in punctuation different ids", () => {
    const text = new Graph({ state: State })
      .addNode("fetch-data", noop)
      .addNode("fetch_data", noop)
      .addEdge(START, "fetch-data")
      .addEdge("fetch-data", "fetch_data")
      .addEdge("fetch_data", END)
      .compile()
      .toMermaid();
    const ids = declaredIds(text);
    expect(new Set(ids).size).toBe(ids.length);
    expect(edgesOf(text).sort()).toEqual(
      ["START --> fetch-data", "fetch-data --> fetch_data", "fetch_data --> END"].sort(),
    );
  });

  it("does not use Mermaid's reserved word `end` as a node id", () => {
    const text = new Graph({ state: State })
      .addNode("end", noop)
      .addEdge(START, "end")
      .addEdge("end", END)
      .compile()
      .toMermaid();
    expect(declaredIds(text).map((id) => id.toLowerCase())).not.toContain("end");
    expect(edgesOf(text).sort()).toEqual(["START --> end", "end --> END"].sort());
  });
});
