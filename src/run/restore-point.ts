/**
 * Where `go_back` (and `request_changes`) lead: the target as this run names it, whether it is
 * on the run's path, and the checkpoint to restore — found by walking the thread's checkpoints
 * back from the last one, with the parallel-step rule: a node of a superstep ran beside its
 * siblings on the state the step started from, so going back to it runs the whole step again.
 */
import { GoBackTargetError } from "../errors.js";
import type { CheckpointRecord } from "../store/checkpoint-store.js";
import type { Store } from "../store/store.js";
import type { RunPath } from "./run-path.js";

/** The checkpoint a go-back restores and what runs again from it. */
export interface RestorePoint {
  /** The node that was found (the target, or the one `steps` back). */
  readonly node: string;
  /** The checkpoint whose state comes back: the one from before the node (or its step). */
  readonly before: string;
  /** The nodes that run again: the node, or its whole parallel step. */
  readonly again: readonly string[];
}

/** `target` as this run names its nodes: a path under the run's prefix loses the prefix. */
export function localTarget(prefix: string, target: string | number): string | number {
  return typeof target === "string" && target.startsWith(prefix) && prefix !== ""
    ? target.slice(prefix.length)
    : target;
}

/** Whether `target` (a node, or a number of nodes back) is on the run's path. */
export function isOnPath(path: RunPath, target: string | number): boolean {
  return typeof target === "number" ? target >= 1 && target <= path.length : path.includes(target);
}

/**
 * Finds the checkpoint to restore for `target`, walking back from checkpoint `lastId` of the
 * thread. Throws `GoBackTargetError` when the checkpoints do not lead to it.
 */
export async function findRestorePoint(
  store: Store,
  where: { readonly sessionId: string; readonly thread: string },
  lastId: string | null,
  target: string | number,
  path: RunPath,
): Promise<RestorePoint> {
  const { sessionId, thread } = where;
  let id = lastId;
  let seen = 0;
  let found: CheckpointRecord | undefined;
  while (id !== null) {
    const record = await store.checkpoints.get(sessionId, thread, id);
    if (!record || record.kind === "unparsable") break;
    if (record.node !== null) {
      seen++;
      if (typeof target === "number" ? seen === target : record.node === target) {
        found = record;
        break;
      }
    }
    id = record.parentId;
  }
  if (found === undefined || found.node === null)
    throw new GoBackTargetError(target, path.toArray());
  const node = found.node;
  // A node of a parallel step ran on the state the step started from, beside its siblings:
  // going back to it runs the whole step again from there (the checkpoints of the step but
  // its last name that start and the step's nodes).
  let before = found.meta.stepStart ?? found.parentId;
  let again: readonly string[] = found.meta.stepStart === undefined ? [node] : found.next;
  if (found.meta.stepStart === undefined && before !== null) {
    const parent = await store.checkpoints.get(sessionId, thread, before);
    if (parent?.kind !== "unparsable" && parent?.meta.stepStart !== undefined) {
      before = parent.meta.stepStart;
      again = parent.next;
    }
  }
  if (before === null) throw new GoBackTargetError(target, path.toArray());
  return { node, before, again };
}
