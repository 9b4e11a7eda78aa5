/**
 * Reads checkpoints back: rebuilds a state from its full snapshot and deltas, and checks every
 * record on the way. A broken delta chain, JSON that does not fit the record format, a meta
 * written by a newer version, a state that no longer fits the graph's schema, or a `next` node
 * the graph no longer has each fail with a `CheckpointCorruptError` that names the session and
 * the checkpoint. States are re-parsed through the graph's schema, so values with codecs (a
 * `z.coerce.date()` key) come back the same from every backend; so are the node outputs a gate
 * keeps in the meta (see `revive-outputs.ts`).
 */
import { CheckpointCorruptError, CheckpointNotFoundError, TrellisError } from "../errors.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { applyDelta, type DeltaOp } from "../graph/state.js";
import {
  CHECKPOINT_META_VERSION,
  type CheckpointMeta,
  CheckpointMetaSchema,
} from "../store/checkpoint-meta.js";
import {
  type CheckpointRecord,
  type CheckpointStatus,
  recordPayload,
  type StoredRecord,
  type UnparsableRecord,
} from "../store/checkpoint-store.js";
import type { Store } from "../store/store.js";
import { reviveOutputs } from "./revive-outputs.js";

/** A checkpoint as the API returns it: the record with its state and path rebuilt. */
export interface Checkpoint<S> {
  readonly id: string;
  readonly sessionId: string;
  /** `""` for the session's own run; a nested node's path for its child runs. */
  readonly thread: string;
  readonly runId: string;
  readonly seq: number;
  readonly parentId: string | null;
  readonly node: string | null;
  readonly iteration: number;
  readonly next: readonly string[];
  readonly status: CheckpointStatus;
  readonly path: readonly string[];
  readonly state: S;
  readonly meta: CheckpointMeta;
  readonly createdAt: number;
  /** Size of the stored payload as JSON: a delta costs what the node changed. */
  readonly bytes: number;
}

/**
 * A checkpoint `history()` found but cannot read: its record fields, no state, and `error`
 * saying why. Check `entry.error` (or `entry.state === undefined`) to tell the two apart.
 */
export interface UnreadableCheckpoint {
  readonly id: string;
  readonly sessionId: string;
  readonly thread: string;
  readonly runId: string;
  readonly seq: number;
  readonly parentId: string | null;
  readonly node: string | null;
  readonly iteration: number;
  readonly next: readonly string[];
  /** `null` when the stored status itself cannot be read. */
  readonly status: CheckpointStatus | null;
  readonly createdAt: number;
  readonly state: undefined;
  readonly path: undefined;
  readonly meta: undefined;
  readonly error: CheckpointCorruptError;
}

/** One entry of `history()`. */
export type HistoryEntry<S> =
  | (Checkpoint<S> & { readonly error?: undefined })
  | UnreadableCheckpoint;

const OPS = new Set(["set", "append", "merge"]);

/**
 * Records already checked. Stores that keep records in memory hand back the same frozen objects
 * on every read, so each is checked once; records read from a database are new objects and are
 * checked every time.
 */
const checked = new WeakSet<object>();

/**
 * A record the checkpointer built, which fits the format by construction: a store that hands
 * it back as is (the memory store) is not checked again on every resume.
 */
export function builtRecord(record: CheckpointRecord): void {
  checked.add(record);
}

function corrupt(
  record: { readonly sessionId: string; readonly id: string },
  reason: ConstructorParameters<typeof CheckpointCorruptError>[2],
  detail: string,
  cause?: unknown,
): CheckpointCorruptError {
  return new CheckpointCorruptError(
    record.sessionId,
    record.id,
    reason,
    detail,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Why a record the store could not read whole is refused: its kind, status or a JSON column is
 * not what a store writes. `then` goes on the detail (what that means for the caller).
 */
export function unparsableError(record: UnparsableRecord, then = ""): CheckpointCorruptError {
  return corrupt(
    record,
    "invalid_json",
    `its stored row cannot be parsed (${record.problem})${then}`,
  );
}

/** Checks one record's shape and meta. */
function checkRecord(record: StoredRecord): asserts record is CheckpointRecord {
  if (checked.has(record)) return;
  if (record.kind === "unparsable") throw unparsableError(record);
  const meta = record.meta as { v?: unknown } | null | undefined;
  if (typeof meta?.v === "number" && meta.v > CHECKPOINT_META_VERSION) {
    throw corrupt(
      record,
      "newer_version",
      `it was written by a newer version of Trellis (meta version ${meta.v}; this one reads ${CHECKPOINT_META_VERSION}); upgrade to read it`,
    );
  }
  const parsed = CheckpointMetaSchema.safeParse(record.meta);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw corrupt(
      record,
      "invalid_meta",
      `its meta does not fit the checkpoint format (${issue?.path.join(".") || "(root)"}: ${issue?.message})`,
    );
  }
  if (record.kind === "full") {
    const state = record.state as unknown;
    if (typeof state !== "object" || state === null || Array.isArray(state)) {
      throw corrupt(record, "invalid_json", "its snapshot is not a state object");
    }
  } else if (record.kind === "delta") {
    const delta = record.delta as unknown;
    if (!Array.isArray(delta) || !delta.every(isDeltaOp)) {
      throw corrupt(
        record,
        "invalid_json",
        "its delta is not a list of `[key, op, value]` changes",
      );
    }
  } else {
    const kind: unknown = (record as { kind?: unknown }).kind;
    throw corrupt(
      record,
      "invalid_json",
      `its kind is ${JSON.stringify(kind)}, not "full" or "delta"`,
    );
  }
  if (!Array.isArray(record.next) || !record.next.every((n) => typeof n === "string")) {
    throw corrupt(record, "invalid_json", "its `next` is not a list of node names");
  }
  if (Object.isFrozen(record)) checked.add(record);
}

function isDeltaOp(op: unknown): op is DeltaOp {
  if (!Array.isArray(op) || op.length !== 3) return false;
  const [key, kind, value] = op as unknown[];
  if (typeof key !== "string" || typeof kind !== "string" || !OPS.has(kind)) return false;
  if (kind === "append") return Array.isArray(value);
  if (kind === "merge") return typeof value === "object" && value !== null && !Array.isArray(value);
  return true;
}

/** Checks that the nodes a checkpoint would run next still exist in the graph. */
function checkNodes<S extends Record<string, unknown>>(
  graph: CompiledGraph<S>,
  record: CheckpointRecord,
): void {
  const missing = record.next.filter((node) => graph.node(node) === undefined);
  if (missing.length > 0) {
    throw corrupt(
      record,
      "unknown_node",
      `it runs ${missing.map((n) => `\`${n}\``).join(", ")} next, which graph \`${graph.name}\` no longer has (its nodes: ${graph.nodeNames.join(", ")})`,
    );
  }
}

/** Rebuilds the state and path at the last record of a lineage (oldest first). */
function rebuild(
  target: CheckpointRecord,
  chain: readonly StoredRecord[],
): { state: Record<string, unknown>; path: string[] } {
  const first = chain[0];
  if (first === undefined || chain.at(-1)?.id !== target.id) {
    throw corrupt(target, "broken_chain", "its lineage could not be read from the store");
  }
  checkRecord(first);
  if (first.kind !== "full") {
    throw corrupt(
      target,
      "broken_chain",
      `its delta chain is broken: \`${first.id}\` is a delta whose parent \`${first.parentId}\` is missing`,
    );
  }
  let state: Record<string, unknown> = {};
  let path: string[] = [];
  for (let i = 0; i < chain.length; i++) {
    const link = chain[i]!;
    checkRecord(link);
    if (i > 0 && link.parentId !== chain[i - 1]?.id) {
      throw corrupt(target, "broken_chain", `its delta chain is broken at \`${link.id}\``);
    }
    ({ state, path } = step(state, path, link));
  }
  return { state, path };
}

function step(
  state: Record<string, unknown>,
  path: string[],
  record: CheckpointRecord,
): { state: Record<string, unknown>; path: string[] } {
  if (record.kind === "full") {
    return { state: record.state as Record<string, unknown>, path: [...(record.meta.path ?? [])] };
  }
  return {
    state: applyDelta(state, record.delta),
    path: record.node === null ? path : [...path, record.node],
  };
}

function revive<S extends Record<string, unknown>>(
  graph: CompiledGraph<S>,
  record: CheckpointRecord,
  state: Record<string, unknown>,
): S {
  try {
    return graph.state.parseState(state, `The state of checkpoint \`${record.id}\``);
  } catch (error) {
    throw corrupt(
      record,
      "invalid_state",
      `its state does not fit the schema of graph \`${graph.name}\`${error instanceof TrellisError ? `:\n${error.message}` : ""}`,
      error,
    );
  }
}

function toCheckpoint<S extends Record<string, unknown>>(
  graph: CompiledGraph<S>,
  record: CheckpointRecord,
  state: S,
  path: readonly string[],
): Checkpoint<S> {
  return {
    id: record.id,
    sessionId: record.sessionId,
    thread: record.thread,
    runId: record.runId,
    seq: record.seq,
    parentId: record.parentId,
    node: record.node,
    iteration: record.iteration,
    next: record.next,
    status: record.status,
    path: record.meta.path ?? path,
    state,
    meta: reviveOutputs(graph, record.thread, record.meta),
    createdAt: record.createdAt,
    // Read on demand: a snapshot is only serialized if someone asks its size.
    get bytes() {
      return JSON.stringify(recordPayload(record)).length;
    },
  };
}

/**
 * One checkpoint (the thread's latest, or `checkpointId`) with its state rebuilt and checked.
 * Throws `CheckpointNotFoundError` when there is none and `CheckpointCorruptError` when it
 * cannot be read. `known`: a record of the thread the caller just read (its latest, or the one
 * `checkpointId` names), which is then not read again.
 */
export async function readCheckpoint<S extends Record<string, unknown>>(
  store: Store,
  graph: CompiledGraph<S>,
  sessionId: string,
  thread: string,
  checkpointId?: string,
  known?: StoredRecord,
): Promise<{ checkpoint: Checkpoint<S>; record: CheckpointRecord }> {
  const record =
    known !== undefined && (checkpointId === undefined || checkpointId === known.id)
      ? known
      : checkpointId === undefined
        ? await store.checkpoints.latest(sessionId, thread)
        : await store.checkpoints.get(sessionId, thread, checkpointId);
  if (!record) throw new CheckpointNotFoundError(sessionId, checkpointId);
  checkRecord(record);
  checkNodes(graph, record);
  const chain = await store.checkpoints.lineage(sessionId, thread, record.id);
  const { state, path } = rebuild(record, chain);
  return { checkpoint: toCheckpoint(graph, record, revive(graph, record, state), path), record };
}

/**
 * The thread's checkpoints, newest first, with states rebuilt (sharing work along the lineage).
 * A record that cannot be read is returned as an {@link UnreadableCheckpoint} instead of failing
 * the whole history.
 */
export async function readHistory<S extends Record<string, unknown>>(
  store: Store,
  graph: CompiledGraph<S>,
  sessionId: string,
  thread: string,
  limit: number,
): Promise<HistoryEntry<S>[]> {
  const newest = await store.checkpoints.list(sessionId, thread, { limit });
  const known = new Map<string, { state: Record<string, unknown>; path: string[] }>();
  const out: HistoryEntry<S>[] = [];
  for (const record of [...newest].reverse()) {
    try {
      checkRecord(record);
      const parent = record.parentId === null ? undefined : known.get(record.parentId);
      let built: { state: Record<string, unknown>; path: string[] };
      if (record.kind === "full" || parent) {
        built = step(parent?.state ?? {}, parent?.path ?? [], record);
      } else {
        built = rebuild(record, await store.checkpoints.lineage(sessionId, thread, record.id));
      }
      const state = revive(graph, record, built.state);
      known.set(record.id, built);
      out.push(toCheckpoint(graph, record, state, built.path));
    } catch (error) {
      out.push({
        id: record.id,
        sessionId,
        thread,
        runId: record.runId,
        seq: record.seq,
        parentId: record.parentId,
        node: record.node,
        iteration: record.iteration,
        next: record.next,
        status: record.status,
        createdAt: record.createdAt,
        state: undefined,
        path: undefined,
        meta: undefined,
        error:
          error instanceof CheckpointCorruptError
            ? error
            : corrupt(record, "invalid_json", String(error), error),
      });
    }
  }
  return out.reverse();
}
