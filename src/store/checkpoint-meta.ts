/**
 * What a checkpoint records besides the state: the persisted format of everything a resume
 * needs (an open approval gate, a pause, the outcome, a node's saved progress, the trace
 * context). A versioned zod schema, so every backend stores and reads the same shape and a
 * record written by a newer version is recognised instead of misread.
 */
import { z } from "zod";
import type { NodeNotes } from "../graph/node-runtime.js";
import { seqOfId } from "./checkpoint-id.js";

/** The version of {@link CheckpointMetaSchema} this build writes. */
export const CHECKPOINT_META_VERSION = 1;

/** A JSON value (the schema checks only that it is present; the state schema checks the rest). */
const Json = z.unknown();

/** An error as it is persisted: its stable code, class name and message. */
export const SerializedErrorSchema = z
  .object({ code: z.string(), name: z.string(), message: z.string() })
  .strict();

/** One earlier round of an approval gate: what the node produced and the feedback it got. */
export const RevisionRoundSchema = z
  .object({
    revision: z.number().int().min(0),
    output: Json,
    feedback: z.string(),
  })
  .strict();

/**
 * An approval request that is open at this checkpoint. It is written the moment the gate opens,
 * before anyone waits, so a crash, a cancel or a timeout at the gate resumes at the gate.
 */
export const GateMetaSchema = z
  .object({
    /** Names this request; `approve` / `reject` / `request_changes` may name it. */
    requestId: z.string().min(1),
    /** The gated node's path (`review`, or `child/review` inside a nested graph). */
    node: z.string().min(1),
    /** 0 for the first request, one more per `request_changes` round. */
    revision: z.number().int().min(0),
    maxRevisions: z.number().int().min(0),
    /** What the node returned: the output under review. */
    output: Json,
    /** Every earlier round of this gate, oldest first. */
    history: z.array(RevisionRoundSchema),
    /** When the request was made (milliseconds since the epoch). */
    openedAt: z.number(),
    /**
     * The session's interrupt sequence number when the request was made: a decision that names
     * no request must have been queued after it (a higher `seq`).
     */
    queueSeq: z.number().int().min(0),
    /** When the gate's `timeoutMs` runs out (milliseconds since the epoch); absent: no timeout. */
    deadline: z.number().optional(),
  })
  .strict();

/** A decision taken at a gate, recorded in the checkpoint that closes it. */
export const GateDecisionMetaSchema = z
  .object({
    requestId: z.string().min(1),
    node: z.string().min(1),
    revision: z.number().int().min(0),
    decision: z.enum(["approve", "reject", "request_changes"]),
    by: z.enum(["human", "timeout", "revision-limit"]),
    actor: z.string().optional(),
    /** The comment, reason or feedback that came with it. */
    content: z.string().optional(),
  })
  .strict();

/**
 * What the next execution of a node receives because a human asked for it: `rerun` guidance, or
 * the revision context of a `request_changes` round. Kept in every checkpoint until that node
 * runs, so a crash in between loses nothing.
 */
export const RerunMetaSchema = z
  .object({
    node: z.string().min(1),
    feedback: z.string().optional(),
    revision: z
      .object({
        number: z.number().int().min(1),
        requestId: z.string().min(1),
        history: z.array(RevisionRoundSchema),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Why a suspended run stopped at a pause. */
export const PauseMetaSchema = z
  .object({
    /** The node the pause was obeyed before or after; absent at the start of a run. */
    node: z.string().optional(),
    phase: z.enum(["start", "before", "after", "gate"]),
    actor: z.string().optional(),
    at: z.number(),
  })
  .strict();

/** How a run ended, when it did not complete. */
export const OutcomeMetaSchema = z.discriminatedUnion("status", [
  z
    .object({
      status: z.literal("rejected"),
      node: z.string().min(1),
      requestId: z.string().optional(),
      reason: z.string().optional(),
    })
    .strict(),
  z
    .object({
      status: z.literal("cancelled"),
      reason: z.string().optional(),
    })
    .strict(),
  z.object({ status: z.literal("failed"), error: SerializedErrorSchema }).strict(),
]);

/** Progress a pattern node saved while it ran (a finished parallel branch, a nested run). */
export const ProgressMetaSchema = z.object({ node: z.string().min(1), data: Json }).strict();

/** A merge conflict a policy resolved, as recorded in a checkpoint. */
const RecordedConflictSchema = z
  .object({
    path: z.string(),
    branches: z.array(z.string()),
    values: z.array(Json),
    base: Json,
  })
  .strict();

/** A failed branch a parallel group recorded under `errors: "collect"`. */
const RecordedFailureSchema = z
  .object({
    branch: z.string(),
    error: z
      .object({ message: z.string(), code: z.string().optional(), name: z.string().optional() })
      .strict(),
  })
  .strict();

/** What a pattern node recorded about its execution (which option ran, branch failures, …). */
/** Schema of what a pattern node records about itself in its checkpoint (`meta.notes`). */
export const NodeNotesSchema: z.ZodType<NodeNotes> = z.lazy(() =>
  z
    .object({
      selected: z.string().optional(),
      requested: z.string().optional(),
      failures: z.array(RecordedFailureSchema).optional(),
      conflicts: z.array(RecordedConflictSchema).optional(),
      branches: z.record(z.string(), NodeNotesSchema).optional(),
    })
    .strict(),
);

/**
 * The meta of one checkpoint, version 1. Every field is optional but `v`; a field is present
 * only where it says something about this checkpoint.
 */
export const CheckpointMetaSchema = z
  .object({
    v: z.literal(CHECKPOINT_META_VERSION),
    /** The graph that wrote it; on a run's first checkpoint. */
    graph: z.string().optional(),
    /** The path up to and including this checkpoint's node; on full snapshots. */
    path: z.array(z.string()).optional(),
    /** The run's root span (W3C `traceparent`), so a run that continues this one can link to it. */
    traceparent: z.string().optional(),
    gate: GateMetaSchema.optional(),
    decision: GateDecisionMetaSchema.optional(),
    rerun: RerunMetaSchema.optional(),
    pause: PauseMetaSchema.optional(),
    outcome: OutcomeMetaSchema.optional(),
    progress: ProgressMetaSchema.optional(),
    /** The sources of each waiting edge that have run since its target last ran. */
    waiting: z.record(z.string(), z.array(z.string())).optional(),
    /** The checkpoint whose state a `go_back`, `rerun` or `request_changes` restored. */
    restoredFrom: z.string().optional(),
    /**
     * On each checkpoint of a parallel step but its last: the checkpoint the step started from.
     * Every node of the step ran on that state, so going back to one of them, or forking from
     * one of these checkpoints, runs the whole step again from there.
     */
    stepStart: z.string().optional(),
    /**
     * On a checkpoint that does not change the run's course (a node's step, a run's end, a
     * wait, a node's saved progress): the checkpoint the idempotency keys of the steps after it
     * derive from, the one the steps before it derived theirs from, by its id. A checkpoint of
     * the same run is named by `keySeq` instead. Absent with `keySeq`: the checkpoint's own id.
     */
    keyFrom: z.string().optional(),
    /**
     * `keyFrom` for a checkpoint of the record's own run, by its `seq` (its id is
     * `<runId>.<keySeq>`): most steps name their run's start, and a number takes a few bytes
     * where the id takes forty.
     */
    keySeq: z.number().int().nonnegative().optional(),
    /**
     * On the final checkpoint of a run that ended `cancelled`, and of every later run of the
     * session (by any agent, with an `InterruptService` or not): the session's interrupt
     * sequence number when the cancelled run ended. A `cancel`
     * queued up to it (a `seq` not above it) was sent before that run was cancelled, and a later
     * run refuses it.
     */
    cancelledAtSeq: z.number().int().min(0).optional(),
    /** The node a `skip` passed over. */
    skipped: z.string().optional(),
    /** The checkpoint a fork started from. */
    forkedFrom: z.object({ sessionId: z.string(), checkpointId: z.string() }).strict().optional(),
    /** What the pattern node of this checkpoint recorded about itself. */
    notes: NodeNotesSchema.optional(),
  })
  .strict();

/** The meta of one checkpoint (see {@link CheckpointMetaSchema}). */
export type CheckpointMeta = z.infer<typeof CheckpointMetaSchema>;
/** An approval request open at a checkpoint (see {@link GateMetaSchema}). */
export type GateMeta = z.infer<typeof GateMetaSchema>;
/** A decision taken at a gate (see {@link GateDecisionMetaSchema}). */
export type GateDecisionMeta = z.infer<typeof GateDecisionMetaSchema>;
/** What the next execution of a node receives because a human asked (see {@link RerunMetaSchema}). */
export type RerunMeta = z.infer<typeof RerunMetaSchema>;
/** Why a suspended run stopped at a pause (see {@link PauseMetaSchema}). */
export type PauseMeta = z.infer<typeof PauseMetaSchema>;
/** How a run ended when it did not complete (see {@link OutcomeMetaSchema}). */
export type OutcomeMeta = z.infer<typeof OutcomeMetaSchema>;
/** Progress a pattern node saved (see {@link ProgressMetaSchema}). */
export type ProgressMeta = z.infer<typeof ProgressMetaSchema>;
/** One earlier round of an approval gate (see {@link RevisionRoundSchema}). */
export type RevisionRound = z.infer<typeof RevisionRoundSchema>;
/** An error as it is persisted (see {@link SerializedErrorSchema}). */
export type SerializedError = z.infer<typeof SerializedErrorSchema>;

/**
 * The checkpoint the idempotency keys of the steps after `record` derive from: the one its meta
 * names (`keyFrom`, or `keySeq` within its run), else `record` itself, which changed the run's
 * course.
 */
export function keyBaseOf(record: {
  readonly id: string;
  readonly runId: string;
  readonly meta: CheckpointMeta;
}): string {
  const { keyFrom, keySeq } = record.meta;
  if (keyFrom !== undefined) return keyFrom;
  return keySeq === undefined ? record.id : `${record.runId}.${keySeq}`;
}

/** Whether `meta` names the key base of its checkpoint's successors (see {@link keyBaseOf}). */
export function namesKeyBase(meta: CheckpointMeta): boolean {
  return meta.keyFrom !== undefined || meta.keySeq !== undefined;
}

/** The meta field that names `base` on a checkpoint of run `runId`: `keySeq` when it can. */
export function keyBaseField(
  base: string,
  runId: string,
): Pick<CheckpointMeta, "keyFrom" | "keySeq"> {
  const seq = seqOfId(base);
  return seq !== null && seq >= 0 && base === `${runId}.${seq}`
    ? { keySeq: seq }
    : { keyFrom: base };
}
