// A small layered layout for the graph drawing: nodes in rows by their longest distance from
// START (back edges of cycles ignored), ordered within a row by the mean position of their
// parents. Pure: names in, coordinates out.

export const START = "__start__";
export const END = "__end__";

/**
 * Reads the flowchart `toMermaid()` writes: node lines `id["label"]` / `id([START])` and edges
 * `a --> b`, `a -. "label" .-> b`, `a == "waits" ==> b`. Used when the API sends Mermaid text
 * without an edge list.
 */
export function parseMermaid(text) {
  const nodes = new Map();
  const edges = [];
  for (const raw of String(text).split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("flowchart") || line.startsWith("%%")) continue;
    const edge =
      /^(\S+)\s+(-->|-\.\s+"(.*)"\s+\.->|==\s+"(.*)"\s+==>)\s+(\S+)$/.exec(line) ?? undefined;
    if (edge) {
      const label = (edge[3] ?? edge[4] ?? "").replace(/#quot;/g, '"');
      const kind = edge[2] === "-->" ? "plain" : edge[2].startsWith("==") ? "waits" : "conditional";
      edges.push({ from: edge[1], to: edge[5], label: label || undefined, kind });
      continue;
    }
    // `id["label"]`, `id{{"label"}}` (an approval gate) or `id([START])`; the label may end in
    // `<br/><small>kind · approval gate</small>`.
    const node = /^(\S+?)(?:\(\[(.*)\]\)|\["(.*)"\]|\{\{"(.*)"\}\})$/.exec(line);
    if (node) {
      const quoted = node[3] ?? node[4];
      const raw = node[2] ?? quoted ?? node[1];
      const label = raw.replace(/<br\/>.*$/, "").replace(/#quot;/g, '"');
      const notes = (/<small>(.*)<\/small>/.exec(quoted ?? "")?.[1] ?? "")
        .split(" · ")
        .filter(Boolean);
      nodes.set(node[1], {
        id: node[1],
        label,
        kind: notes.find((n) => n !== "approval gate"),
        gate: node[4] !== undefined || notes.includes("approval gate"),
      });
    }
  }
  for (const e of edges) {
    for (const id of [e.from, e.to]) if (!nodes.has(id)) nodes.set(id, { id, label: id });
  }
  return { nodes: [...nodes.values()], edges };
}

/** Lays out `{ nodes: [{ id, label }], edges: [{ from, to }] }`; returns positions and size. */
export function layout(graph, { nodeWidth = 150, nodeHeight = 36, gapX = 40, gapY = 56 } = {}) {
  const ids = graph.nodes.map((n) => n.id);
  const out = new Map(ids.map((id) => [id, []]));
  for (const e of graph.edges) if (out.has(e.from) && out.has(e.to)) out.get(e.from).push(e.to);

  // Back edges by depth-first search from START (then from any node not reached).
  const back = new Set();
  const colour = new Map();
  const visit = (id) => {
    colour.set(id, 1);
    for (const to of out.get(id)) {
      if (colour.get(to) === 1) back.add(`${id}\u0000${to}`);
      else if (!colour.has(to)) visit(to);
    }
    colour.set(id, 2);
  };
  if (out.has(START)) visit(START);
  for (const id of ids) if (!colour.has(id)) visit(id);

  // Longest path layering over the forward edges (a DAG once back edges are dropped).
  const layer = new Map(ids.map((id) => [id, 0]));
  const order = [];
  const seen = new Set();
  const topo = (id) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const to of out.get(id)) if (!back.has(`${id}\u0000${to}`)) topo(to);
    order.push(id);
  };
  for (const id of ids) topo(id);
  order.reverse();
  for (const id of order) {
    for (const to of out.get(id)) {
      if (back.has(`${id}\u0000${to}`)) continue;
      layer.set(to, Math.max(layer.get(to), layer.get(id) + 1));
    }
  }
  // END sits below everything.
  if (layer.has(END)) {
    const deepest = Math.max(0, ...ids.filter((id) => id !== END).map((id) => layer.get(id)));
    layer.set(END, Math.max(layer.get(END), deepest + 1));
  }

  const rows = [];
  for (const id of ids) {
    const l = layer.get(id);
    rows[l] ??= [];
    rows[l].push(id);
  }
  const position = new Map();
  const parents = new Map(ids.map((id) => [id, []]));
  for (const [from, tos] of out) {
    for (const to of tos) if (!back.has(`${from}\u0000${to}`)) parents.get(to).push(from);
  }
  const width = Math.max(1, ...rows.map((r) => r?.length ?? 0));
  rows.forEach((row, l) => {
    if (!row) return;
    if (l > 0) {
      const mean = (id) => {
        const ps = parents.get(id).filter((p) => position.has(p));
        if (ps.length === 0) return Number.POSITIVE_INFINITY;
        return ps.reduce((sum, p) => sum + position.get(p).slot, 0) / ps.length;
      };
      row.sort((a, b) => mean(a) - mean(b));
    }
    const offset = (width - row.length) / 2;
    row.forEach((id, i) => {
      position.set(id, {
        slot: offset + i,
        x: (offset + i) * (nodeWidth + gapX) + gapX / 2,
        y: l * (nodeHeight + gapY) + gapY / 2,
        layer: l,
      });
    });
  });
  const extra = back.size > 0 ? 60 : 0;
  return {
    positions: position,
    back,
    nodeWidth,
    nodeHeight,
    width: width * (nodeWidth + gapX) + extra,
    height: rows.length * (nodeHeight + gapY),
  };
}
