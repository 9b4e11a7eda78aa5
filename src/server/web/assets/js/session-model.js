// What the session page needs from `GET /api/sessions/:id`, read in one place so the views do
// not depend on the answer's exact layout.

function array(value) {
  return Array.isArray(value) ? value : [];
}

/** The session answer as the views use it. */
export function sessionModel(detail) {
  const s = detail?.session ?? detail ?? {};
  const graph = typeof s.graph === "object" && s.graph !== null ? s.graph : undefined;
  const gate = s.gate ?? s.pending ?? s.pendingGate ?? undefined;
  const path = array(s.path);
  return {
    id: s.sessionId ?? s.id,
    graphName: typeof s.graph === "string" ? s.graph : (graph?.name ?? s.graphName),
    status: s.status,
    state: s.state,
    path,
    next: array(s.next),
    node: s.node ?? path.at(-1),
    gate: gate ?? undefined,
    checkpointId: s.checkpointId,
    graph: graph ?? { mermaid: s.mermaid, nodes: s.nodes, edges: s.edges },
    finished: ["completed", "failed", "cancelled", "rejected"].includes(s.status),
    pause: s.pause ?? undefined,
    canAct: typeof s.canAct === "boolean" ? s.canAct : undefined,
    reviewers: Array.isArray(s.reviewers) ? s.reviewers : undefined,
  };
}
