import { END, START } from "./constants.js";
import type { OutEdges, WaitingEdge } from "./edges.js";
import type { NodeEntry } from "./graph.js";
import type { GraphChartOptions } from "./to-mermaid.js";

/** A DOT string literal: any node name is a valid id once quoted and escaped. */
function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n")}"`;
}

function id(node: string): string {
  if (node === START) return "__start__";
  if (node === END) return "__end__";
  return quote(node);
}

/**
 * Renders a graph in Graphviz DOT. START and END are ellipses, nodes boxes, approval gates
 * filled hexagons labelled `approval gate`; plain edges are solid, conditional edges dashed
 * with their label (or priority), fallbacks labelled `fallback`, router targets `router`,
 * `Command.goto` targets `goto`, and waiting edges bold and labelled `waits`.
 */
export function toDot<S>(
  name: string,
  nodes: ReadonlyMap<string, NodeEntry<S>>,
  edges: ReadonlyMap<string, OutEdges<S>>,
  waiting: readonly WaitingEdge[] = [],
  options: GraphChartOptions = {},
): string {
  const gates = new Set(options.gates ?? []);
  const lines = [
    `digraph ${quote(name)} {`,
    "  rankdir=TB;",
    '  node [shape=box, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
    '  __start__ [label="START", shape=ellipse];',
  ];
  for (const [node, entry] of nodes) {
    const notes = [
      ...(entry.definition.kind === "function" ? [] : [entry.definition.kind]),
      ...(gates.has(node) ? ["approval gate"] : []),
    ];
    const label = quote(notes.length === 0 ? node : `${node}\n${notes.join(" · ")}`);
    const shape = gates.has(node) ? ', shape=hexagon, style=filled, fillcolor="#fde68a"' : "";
    lines.push(`  ${id(node)} [label=${label}${shape}];`);
  }
  lines.push('  __end__ [label="END", shape=ellipse];');
  const edge = (from: string, to: string, attrs = "") =>
    lines.push(`  ${id(from)} -> ${id(to)}${attrs === "" ? "" : ` [${attrs}]`};`);
  const dashed = (label: string) => `style=dashed, label=${quote(label)}`;
  for (const [from, out] of edges) {
    switch (out.kind) {
      case "plain":
        for (const to of out.targets) edge(from, to);
        break;
      case "routes":
        for (const r of out.routes) {
          edge(
            from,
            r.to,
            dashed(r.label ?? (r.priority !== 0 ? `priority ${r.priority}` : "when")),
          );
        }
        if (out.fallback !== undefined) edge(from, out.fallback, dashed("fallback"));
        break;
      case "router":
        for (const to of out.targets ?? []) edge(from, to, dashed("router"));
        break;
    }
  }
  for (const { sources, target } of waiting) {
    for (const from of sources) edge(from, target, 'style=bold, label="waits"');
  }
  for (const [node, entry] of nodes) {
    for (const to of entry.options.goto ?? []) edge(node, to, dashed("goto"));
    if (entry.options.finish && !edges.has(node)) edge(node, END);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
