import { END, START } from "./constants.js";
import type { OutEdges, WaitingEdge } from "./edges.js";
import type { NodeEntry } from "./graph.js";

const RESERVED = new Set([
  "end",
  "graph",
  "subgraph",
  "flowchart",
  "style",
  "class",
  "classdef",
  "click",
  "default",
  "linkstyle",
  "direction",
]);

function id(node: string): string {
  if (node === START) return "__start__";
  if (node === END) return "__end__";
  // Plain names stay readable; anything else (punctuation, Mermaid's own words, the `n__`
  // prefix itself) is spelled out character by character, so two nodes never share an id.
  if (
    /^[A-Za-z][A-Za-z0-9_]*$/.test(node) &&
    !RESERVED.has(node.toLowerCase()) &&
    !node.startsWith("n__")
  ) {
    return node;
  }
  return `n__${node.replace(/[^A-Za-z0-9]/g, (c) => `_${c.codePointAt(0)!.toString(16)}_`)}`;
}

function escapeLabel(text: string): string {
  return text.replace(/"/g, "#quot;");
}

/** Options of `toMermaid()` and `toDot()`. */
export interface GraphChartOptions {
  /**
   * Nodes with an approval gate (an agent's `interruptConfig.approvals`): drawn as hexagons
   * and labelled `approval gate`.
   */
  readonly gates?: Iterable<string>;
}

/**
 * Renders a graph as a Mermaid flowchart. START and END are round nodes, approval gates
 * hexagons; plain edges are solid, conditional edges dotted with their label (or priority),
 * fallbacks labelled `fallback`, router targets labelled `router`, and waiting edges thick and
 * labelled `waits` (one arrow from each node the target waits for).
 */
export function toMermaid<S>(
  nodes: ReadonlyMap<string, NodeEntry<S>>,
  edges: ReadonlyMap<string, OutEdges<S>>,
  waiting: readonly WaitingEdge[] = [],
  options: GraphChartOptions = {},
): string {
  const gates = new Set(options.gates ?? []);
  const lines = ["flowchart TD", `  ${id(START)}([START])`];
  for (const [name, entry] of nodes) {
    const notes = [
      ...(entry.definition.kind === "function" ? [] : [entry.definition.kind]),
      ...(gates.has(name) ? ["approval gate"] : []),
    ];
    const label = `${escapeLabel(name)}${notes.length === 0 ? "" : `<br/><small>${notes.join(" · ")}</small>`}`;
    lines.push(gates.has(name) ? `  ${id(name)}{{"${label}"}}` : `  ${id(name)}["${label}"]`);
  }
  lines.push(`  ${id(END)}([END])`);
  for (const [from, out] of edges) {
    switch (out.kind) {
      case "plain":
        for (const to of out.targets) lines.push(`  ${id(from)} --> ${id(to)}`);
        break;
      case "routes":
        for (const r of out.routes) {
          const text = r.label ?? (r.priority !== 0 ? `priority ${r.priority}` : "when");
          lines.push(`  ${id(from)} -. "${escapeLabel(text)}" .-> ${id(r.to)}`);
        }
        if (out.fallback !== undefined)
          lines.push(`  ${id(from)} -. "fallback" .-> ${id(out.fallback)}`);
        break;
      case "router":
        for (const to of out.targets ?? []) lines.push(`  ${id(from)} -. "router" .-> ${id(to)}`);
        break;
    }
  }
  for (const { sources, target } of waiting) {
    for (const from of sources) lines.push(`  ${id(from)} == "waits" ==> ${id(target)}`);
  }
  for (const [name, entry] of nodes) {
    for (const to of entry.options.goto ?? []) lines.push(`  ${id(name)} -. "goto" .-> ${id(to)}`);
    if (entry.options.finish && !edges.has(name)) lines.push(`  ${id(name)} --> ${id(END)}`);
  }
  return `${lines.join("\n")}\n`;
}
