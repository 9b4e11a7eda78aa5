/**
 * Node outputs kept in checkpoint meta — the output under review at an approval gate, and the
 * outputs of earlier revision rounds — are the node's update as it returned it. A store that
 * keeps JSON gives a `Date` in one back as an ISO string, where the memory store gives the
 * `Date`; this file revives such values through the state key's schema on read, so a reviewer
 * (and a node re-run with `ctx.revision`) sees the same output from every backend.
 */

import { deepFreeze } from "../freeze.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { reviveUpdate } from "../graph/revive-update.js";
import type { CheckpointMeta, GateMeta, RevisionRound } from "../store/checkpoint-meta.js";

type Graph = CompiledGraph<Record<string, unknown>>;

/** `output` with its dates (and other codec values) revived, frozen like the meta it is in. */
function reviveOutput(graph: Graph, output: unknown): unknown {
  const revived = reviveUpdate(graph.state, output);
  return revived === output ? output : deepFreeze(revived);
}

function reviveRounds(graph: Graph, rounds: readonly RevisionRound[]): readonly RevisionRound[] {
  let out: RevisionRound[] | undefined;
  rounds.forEach((round, i) => {
    const output = reviveOutput(graph, round.output);
    if (output === round.output) return;
    out ??= [...rounds];
    out[i] = { ...round, output };
  });
  return out ?? rounds;
}

/**
 * The graph whose node `path` names, read from `graph`, the graph of `thread`: `review` is its
 * own node, `polish/review` a node of the graph its nested node `polish` runs (in a child
 * thread, paths start with the thread's). `undefined` when no such node exists.
 */
function graphOfNode(graph: Graph, thread: string, path: string): Graph | undefined {
  const prefix = thread === "" ? "" : `${thread}/`;
  if (!path.startsWith(prefix)) return undefined;
  const segments = path.slice(prefix.length).split("/");
  let current: Graph | undefined = graph;
  for (let i = 0; i < segments.length - 1 && current !== undefined; i++) {
    current = current.node(segments[i]!)?.definition.graph;
  }
  return current?.node(segments.at(-1)!) === undefined ? undefined : current;
}

/**
 * `meta` with the outputs of its gate and of its pending revision revived (see the file's
 * comment); `meta` itself when nothing needs it. `graph` is the graph of `thread`; a gate on a
 * node inside a nested graph is revived with that graph's state schema.
 */
export function reviveOutputs<S extends Record<string, unknown>>(
  graph: CompiledGraph<S>,
  thread: string,
  meta: CheckpointMeta,
): CheckpointMeta {
  const g = graph as unknown as Graph;
  let gate: GateMeta | undefined = meta.gate;
  const owner = gate === undefined ? undefined : graphOfNode(g, thread, gate.node);
  if (gate !== undefined && owner !== undefined) {
    const output = reviveOutput(owner, gate.output);
    const history = reviveRounds(owner, gate.history);
    if (output !== gate.output || history !== gate.history) {
      gate = { ...gate, output, history: [...history] };
    }
  }
  let rerun = meta.rerun;
  // A pending rerun names the node by its own name in its graph, not by its path.
  if (rerun?.revision !== undefined && g.node(rerun.node) !== undefined) {
    const history = reviveRounds(g, rerun.revision.history);
    if (history !== rerun.revision.history) {
      rerun = { ...rerun, revision: { ...rerun.revision, history: [...history] } };
    }
  }
  if (gate === meta.gate && rerun === meta.rerun) return meta;
  return deepFreeze({
    ...meta,
    ...(gate === undefined ? {} : { gate }),
    ...(rerun === undefined ? {} : { rerun }),
  });
}
