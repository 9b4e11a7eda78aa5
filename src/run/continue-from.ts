/**
 * What a run that continues a checkpoint (a resume or a fork) starts with, read from the
 * store: its plan (at the checkpoint's gate, rerun context and joins), the progress the node
 * about to run saved before the run stopped in it, and the root span of the run it continues.
 */
import { deepFreeze } from "../freeze.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import type { CheckpointMeta } from "../store/checkpoint-meta.js";
import type { StoredRecord } from "../store/checkpoint-store.js";
import type { Store } from "../store/store.js";
import type { Checkpoint } from "./checkpoint-reader.js";
import { ownsGate } from "./create-run.js";
import { type RunPlan, startPlan } from "./planner.js";

/** Where a run continues from a checkpoint: at its gate, its rerun context, its joins. */
export function planAt<S extends Record<string, unknown>>(
  graph: CompiledGraph<S>,
  checkpoint: Pick<Checkpoint<S>, "state" | "path" | "next" | "meta">,
): RunPlan<S> {
  const gate = checkpoint.meta.gate;
  const own = gate !== undefined && ownsGate(graph, "", gate.node);
  return startPlan({
    state: deepFreeze(checkpoint.state),
    path: checkpoint.path,
    frontier: checkpoint.next,
    gate: own ? gate : undefined,
    rerun: checkpoint.meta.rerun,
    waiting: checkpoint.meta.waiting,
    // Stopped inside a nested graph: the child reads the queue when it gets back there.
    checked: gate !== undefined && !own,
  });
}

/**
 * What the node about to run saved with `saveProgress` before the run stopped in it: the
 * progress records written since its last node checkpoint, oldest first.
 */
export async function savedProgress<S extends Record<string, unknown>>(
  store: Store,
  graph: CompiledGraph<S>,
  sessionId: string,
  resumed: StoredRecord,
  next: readonly string[],
): Promise<{ node: string; data: unknown[] } | undefined> {
  const node = next.length === 1 ? next[0]! : undefined;
  // Only pattern nodes (parallel groups, nested graphs) save progress.
  const kind = node === undefined ? undefined : graph.node(node)?.definition.kind;
  if (node === undefined || kind === "function" || kind === "agent") return undefined;
  const data: unknown[] = [];
  let record: StoredRecord | undefined = resumed;
  const runId = record.runId;
  while (record && record.kind !== "unparsable" && record.node === null && record.runId === runId) {
    const progress: CheckpointMeta["progress"] = record.meta.progress;
    if (progress?.node === node) data.push(progress.data);
    record =
      record.parentId === null
        ? undefined
        : await store.checkpoints.get(sessionId, "", record.parentId);
  }
  return data.length === 0 ? undefined : { node, data: data.reverse() };
}

/**
 * The root span of the run that wrote `record` (from its own checkpoints), if traced;
 * `traced` is whether this agent's tracer records at all.
 */
export async function previousTraceparent(
  store: Store,
  traced: boolean,
  sessionId: string,
  record: StoredRecord,
): Promise<string | undefined> {
  if (!traced || record.kind === "unparsable") return undefined;
  if (record.meta.traceparent !== undefined) return record.meta.traceparent;
  // A run that crashed wrote no final checkpoint: its first checkpoint has it.
  for (const earlier of await store.checkpoints.list(sessionId, "", {
    limit: 200,
    beforeSeq: record.seq,
  })) {
    if (earlier.runId !== record.runId || earlier.kind === "unparsable") break;
    if (earlier.meta.traceparent !== undefined) return earlier.meta.traceparent;
  }
  return undefined;
}
