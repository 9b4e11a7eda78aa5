/**
 * Node outputs kept in checkpoint meta — the output under review at an approval gate, and the
 * outputs of earlier revision rounds — are the node's update as it returned it. A store that
 * keeps JSON gives a `Date` in one back as an ISO string, where the memory store gives the
 * `Date`; this file revives such values through the state key's schema on read, so a reviewer
 * (and a node re-run with `ctx.revision`) sees the same output from every backend.
 */

import { deepFreeze } from "../freeze.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { setOwn } from "../graph/own-property.js";
import type { CheckpointMeta, GateMeta, RevisionRound } from "../store/checkpoint-meta.js";

type Graph = CompiledGraph<Record<string, unknown>>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Whether `value` holds anything but plain JSON containers and primitives (a `Date`). */
function hasRevivedValue(value: unknown): boolean {
  const pending: unknown[] = [value];
  const seen = new Set<object>();
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    seen.add(current);
    if (Array.isArray(current)) pending.push(...current);
    else if (isPlainObject(current)) pending.push(...Object.values(current));
    else return true;
  }
  return false;
}

/**
 * `output` with each of its state keys revived through that key's update schema, where the
 * schema turns the stored JSON into something JSON gives back unchanged (a codec such as
 * `z.coerce.date()`). A value the schema would change otherwise (a `.trim()`), a key the state
 * does not have and a value that no longer parses are kept as stored.
 */
function reviveOutput(graph: Graph, output: unknown): unknown {
  if (!isPlainObject(output)) return output;
  let revived: Record<string, unknown> | undefined;
  for (const key of Object.keys(output)) {
    const stored = output[key];
    if (typeof stored !== "string" && (typeof stored !== "object" || stored === null)) continue;
    if (!graph.state.hasKey(key) || hasRevivedValue(stored)) continue;
    let parsed: unknown;
    try {
      parsed = graph.state.validateUpdate({ [key]: stored }, "A stored output")[key];
    } catch {
      continue;
    }
    if (!hasRevivedValue(parsed) || JSON.stringify(parsed) !== JSON.stringify(stored)) continue;
    if (revived === undefined) {
      // A copy by own keys: `Object.assign` would treat a `__proto__` key as the prototype.
      revived = {};
      for (const name of Object.keys(output)) setOwn(revived, name, output[name]);
    }
    setOwn(revived, key, parsed);
  }
  return revived === undefined ? output : deepFreeze(revived);
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
