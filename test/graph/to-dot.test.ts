import { describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, START } from "../../src/index.js";

describe("CompiledGraph.toDot", () => {
  const graph = new Graph({ state: z.object({ n: z.number().default(0) }), name: 'say "hi"' })
    .addNode("a", () => ({}))
    .addNode('b "q"\nline', () => ({}))
    .addNode("gate", () => ({}))
    .addEdge(START, "a")
    .addConditionalEdges("a", {
      routes: [{ to: 'b "q"\nline', when: (s) => s.n > 0, label: "more" }],
      fallback: "gate",
    })
    .addEdge('b "q"\nline', "gate")
    .addEdge("gate", END)
    .compile();

  it("quotes every name, so quotes and newlines in node names stay inside their labels", () => {
    const dot = graph.toDot();
    expect(dot.split("\n")[0]).toBe('digraph "say \\"hi\\"" {');
    expect(dot).toContain('"b \\"q\\"\\nline" [label="b \\"q\\"\\nline"];');
    expect(dot).toContain('"a" -> "b \\"q\\"\\nline" [style=dashed, label="more"];');
    expect(dot).toContain('"a" -> "gate" [style=dashed, label="fallback"];');
    expect(dot).toContain('__start__ -> "a";');
    expect(dot).toContain('"gate" -> __end__;');
    expect(dot).not.toContain("hexagon");
  });

  it("draws the nodes it is told are approval gates as hexagons, in DOT and in Mermaid", () => {
    expect(graph.toDot({ gates: ["gate"] })).toContain(
      '"gate" [label="gate\\napproval gate", shape=hexagon, style=filled, fillcolor="#fde68a"];',
    );
    expect(graph.toMermaid({ gates: ["gate"] })).toContain(
      'gate{{"gate<br/><small>approval gate</small>"}}',
    );
    expect(graph.toMermaid()).toContain('gate["gate"]');
  });
});
