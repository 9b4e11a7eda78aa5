/**
 * The rule that keeps a session summary's `gate` — what the review inbox lists as waiting for
 * approval — in step with the gates open in the session, those of nested graphs included. A
 * nested graph's run writes its checkpoints in a thread of its own, so the session's own
 * thread says nothing of a gate open inside it until the whole run stops. Pure: every store
 * applies its verdicts, so the inbox lists the same sessions whichever store holds them.
 */
import type { GateMeta } from "./checkpoint-meta.js";
import type { CheckpointRecordFields, CheckpointStatus } from "./checkpoint-store.js";

/** The parts of a checkpoint the rule reads. */
export type GateRecord = Pick<CheckpointRecordFields, "thread" | "status" | "meta">;

/**
 * What a checkpoint does to its session summary's gate, told from the record alone:
 *
 * - `"own"`: a checkpoint of the session's own thread: the gate becomes the record's own (none
 *   when it has none), with the rest of the summary.
 * - `"keep"`: the gate stays as it is. A checkpoint of the session's own thread that only saves
 *   a node's progress (`meta.progress`, no gate of its own, the run going on) is written while a
 *   parallel group or a nested graph runs, which is when a nested graph inside it may wait at a
 *   gate (a branch beside it finished, or the run resumed into it): it still sets the rest of
 *   the summary. A checkpoint of a nested graph's thread that neither opens nor
 *   decides a gate, nor ends its run early, changes nothing of the summary.
 * - `"nested"`: a checkpoint of a nested graph's thread that carries a gate, records a decision,
 *   restores an earlier state (a `go_back`, `rerun` or `request_changes` inside it) or ends its
 *   run `failed`, `cancelled` or `rejected`: {@link summaryGate} says, from the gate the summary
 *   holds, what becomes of it. Only these need that gate read.
 */
export type GateEffect = "own" | "keep" | "nested";

/** The statuses of a nested run that ended before it completed: its gates closed with it. */
const ENDED_EARLY: ReadonlySet<CheckpointStatus> = new Set(["failed", "cancelled", "rejected"]);

/** What `record` does to its session summary's gate (see {@link GateEffect}). */
export function gateEffect(record: GateRecord): GateEffect {
  const { meta } = record;
  if (record.thread === "") {
    return meta.progress !== undefined && meta.gate === undefined && record.status === "running"
      ? "keep"
      : "own";
  }
  return meta.gate !== undefined ||
    meta.decision !== undefined ||
    meta.restoredFrom !== undefined ||
    ENDED_EARLY.has(record.status)
    ? "nested"
    : "keep";
}

/**
 * The session summary's gate after `record`, given the gate it held before (`current`):
 *
 * - a checkpoint of the session's own thread sets its own gate, or none, unless it only saves
 *   a node's progress (see {@link GateEffect});
 * - a checkpoint of a nested graph's thread that carries a gate while its run goes on or
 *   suspends (`running`, `paused`) sets that gate: it just opened, or is still open;
 * - one that records the decision of the summary's gate (the same `requestId`) clears it;
 * - one whose run ended `failed`, `cancelled` or `rejected`, or went back to an earlier state,
 *   clears the summary's gate when that gate belongs to its run or to one nested inside it (its
 *   node path starts with the thread and a `/`): a cancel at a nested gate closes the gate
 *   without a decision, and a `go_back` from it leaves the gate, which opens anew (another
 *   request) if the run reaches it again;
 * - anything else leaves the gate as it is.
 *
 * A nested checkpoint changes only the gate (and the summary's update time), never the status,
 * graph or checkpoint of the session's own thread. The summary holds one gate: of two nested
 * gates open at once, it shows the one opened last, and none once that one is decided.
 */
export function summaryGate(
  current: GateMeta | undefined,
  record: GateRecord,
): GateMeta | undefined {
  const effect = gateEffect(record);
  if (effect === "own") return record.meta.gate;
  if (effect === "keep") return current;
  const { gate, decision } = record.meta;
  if (gate !== undefined && (record.status === "running" || record.status === "paused")) {
    return gate;
  }
  if (current === undefined) return undefined;
  if (decision !== undefined && decision.requestId === current.requestId) return undefined;
  const leaves = ENDED_EARLY.has(record.status) || record.meta.restoredFrom !== undefined;
  if (leaves && current.node.startsWith(`${record.thread}/`)) return undefined;
  return current;
}

/** Whether two summary gates are the same request (a request id names one gate's round). */
export function sameGate(a: GateMeta | undefined, b: GateMeta | undefined): boolean {
  return a?.requestId === b?.requestId;
}

/**
 * Whether a checkpoint is told of (to the store's listeners and to other processes), given
 * whether it changed its session summary's gate: one of the session's own thread always (a
 * running step's checkpoint only to this process's listeners: see each store), one of a
 * nested graph's thread when it changed the gate or records a decision. Of two nested gates
 * open at once the summary shows one, so the decision of the other changes nothing there,
 * and is told all the same: it is that request's `approval.decided`.
 */
export function isToldOf(record: GateRecord, changedGate: boolean): boolean {
  return record.thread === "" || changedGate || record.meta.decision !== undefined;
}
