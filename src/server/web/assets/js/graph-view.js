// Draws the session's graph as inline SVG (no Mermaid in the browser): the path taken, the
// current node and the pending gate are highlighted. Labels are text nodes.

import { h, svg } from "./dom.js";
import { END, layout, parseMermaid, START } from "./graph-layout.js";

/**
 * Turns what the API says about a graph into `{ nodes: [{ id, label, kind }], edges }`:
 * an explicit node/edge list when there is one, else the Mermaid text.
 */
export function graphModel(graph) {
  if (!graph) return { nodes: [], edges: [] };
  if (Array.isArray(graph.edges) && Array.isArray(graph.nodes)) {
    const gates = new Set(Array.isArray(graph.gates) ? graph.gates : []);
    const nodes = [
      { id: START, label: "START" },
      ...graph.nodes.map((n) => {
        const name = typeof n === "string" ? n : n.name;
        const kind = typeof n === "string" ? undefined : n.kind;
        return { id: name, label: name, kind, gate: gates.has(name) || n.gate === true };
      }),
      { id: END, label: "END" },
    ];
    const known = new Set(nodes.map((n) => n.id));
    const fix = (name) =>
      name === "__start__" || name === "START"
        ? START
        : name === "__end__" || name === "END"
          ? END
          : name;
    const edges = graph.edges
      .map((e) => ({ ...e, from: fix(e.from), to: fix(e.to) }))
      .filter((e) => known.has(e.from) && known.has(e.to));
    return { nodes, edges };
  }
  if (typeof graph.mermaid === "string") return parseMermaid(graph.mermaid);
  if (Array.isArray(graph.nodes)) {
    const names = graph.nodes.map((n) => (typeof n === "string" ? n : n.name));
    return { nodes: names.map((n) => ({ id: n, label: n })), edges: [] };
  }
  return { nodes: [], edges: [] };
}

function nodeState(name, { current, gate, path, next }) {
  if (gate !== undefined && name === gate) return "gate";
  if (current !== undefined && name === current) return "current";
  if (next.includes(name)) return "next";
  if (path.includes(name)) return "visited";
  return "idle";
}

/** The graph drawing, with a caption that says the same in words. */
export function graphView(graph, marks) {
  const model = graphModel(graph);
  const path = marks.path ?? [];
  const next = marks.next ?? [];
  if (model.nodes.length === 0) return h("p", { class: "muted" }, "The server sent no graph.");
  const lay = layout(model);
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const nameOf = (id) => (id === START || id === END ? undefined : (byId.get(id)?.label ?? id));
  const visitedEdge = new Set();
  const names = [START, ...path, ...(marks.finished ? [END] : [])];
  for (let i = 0; i + 1 < names.length; i++) visitedEdge.add(`${names[i]}\u0000${names[i + 1]}`);
  const edgeKey = (e) => `${nameOf(e.from) ?? e.from}\u0000${nameOf(e.to) ?? e.to}`;

  const w = lay.nodeWidth;
  const ht = lay.nodeHeight;
  const parts = [
    svg(
      "defs",
      {},
      svg(
        "marker",
        {
          id: "arrow",
          viewBox: "0 0 10 10",
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse",
        },
        svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }),
      ),
    ),
  ];
  for (const e of model.edges) {
    const a = lay.positions.get(e.from);
    const b = lay.positions.get(e.to);
    if (!a || !b) continue;
    const isBack = lay.back.has(`${e.from}\u0000${e.to}`) || b.layer <= a.layer;
    let d;
    let lx;
    let ly;
    if (isBack) {
      const x1 = a.x + w;
      const y1 = a.y + ht / 2;
      const x2 = b.x + w;
      const y2 = b.y + ht / 2;
      const bend = Math.max(x1, x2) + 50;
      d = `M ${x1} ${y1} C ${bend} ${y1}, ${bend} ${y2}, ${x2 + 2} ${y2}`;
      lx = bend - 8;
      ly = (y1 + y2) / 2;
    } else {
      const x1 = a.x + w / 2;
      const y1 = a.y + ht;
      const x2 = b.x + w / 2;
      const y2 = b.y - 2;
      d = `M ${x1} ${y1} C ${x1} ${(y1 + y2) / 2}, ${x2} ${(y1 + y2) / 2}, ${x2} ${y2}`;
      lx = (x1 + x2) / 2 + 4;
      ly = (y1 + y2) / 2;
    }
    const taken =
      visitedEdge.has(edgeKey(e)) ||
      (e.from === START && visitedEdge.has(`${START}\u0000${nameOf(e.to)}`));
    parts.push(
      svg("path", {
        d,
        class: `edge edge-${e.kind ?? "plain"}${taken ? " edge-taken" : ""}`,
        "marker-end": "url(#arrow)",
      }),
    );
    if (e.label) parts.push(svg("text", { x: lx, y: ly, class: "edge-label" }, e.label));
  }
  for (const n of model.nodes) {
    const p = lay.positions.get(n.id);
    const name = nameOf(n.id);
    const state =
      name === undefined
        ? n.id === START || (n.id === END && marks.finished)
          ? "visited"
          : "idle"
        : nodeState(name, { ...marks, path, next });
    const terminal = name === undefined;
    parts.push(
      svg(
        "g",
        {
          class: `node node-${state}${terminal ? " node-terminal" : ""}${n.gate ? " node-gated" : ""}`,
          "data-node": name ?? n.label,
          "data-state": state,
          transform: `translate(${p.x} ${p.y})`,
        },
        svg("title", {}, `${n.label}: ${describeState(state)}`),
        svg("rect", { width: w, height: ht, rx: terminal ? ht / 2 : 6 }),
        svg(
          "text",
          { x: w / 2, y: sub(n) ? ht / 2 - 1 : ht / 2 + 5, "text-anchor": "middle" },
          clip(n.label, 20),
        ),
        sub(n)
          ? svg("text", { x: w / 2, y: ht / 2 + 12, "text-anchor": "middle", class: "sub" }, sub(n))
          : null,
      ),
    );
  }
  const caption = [
    `Path taken: ${path.length > 0 ? path.join(" → ") : "nothing yet"}.`,
    marks.current ? ` Current node: ${marks.current}.` : "",
    marks.gate ? ` Waiting for approval at: ${marks.gate}.` : "",
    next.length > 0 ? ` Next: ${next.join(", ")}.` : "",
  ].join("");
  return h(
    "figure",
    { class: "graph" },
    svg(
      "svg",
      {
        role: "img",
        "aria-label": `Graph. ${caption}`,
        viewBox: `0 0 ${lay.width} ${lay.height}`,
        width: lay.width,
        height: lay.height,
      },
      parts,
    ),
    h("figcaption", {}, caption),
    h(
      "p",
      { class: "legend", "aria-hidden": "true" },
      h("span", { class: "key key-visited" }, "ran"),
      h("span", { class: "key key-current" }, "current"),
      h("span", { class: "key key-gate" }, "waiting for approval"),
      h("span", { class: "key key-next" }, "next"),
    ),
  );
}

/** The small second line of a node: its kind and whether it has an approval gate. */
function sub(n) {
  const notes = [
    n.kind && n.kind !== "function" ? n.kind : undefined,
    n.gate ? "approval gate" : undefined,
  ];
  return notes.filter(Boolean).join(" · ");
}

function describeState(state) {
  return {
    gate: "waiting for approval",
    current: "current node",
    next: "runs next",
    visited: "ran",
    idle: "not run",
  }[state];
}

function clip(text, max) {
  const s = String(text);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
