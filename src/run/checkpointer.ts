import { CheckpointNotFoundError } from "../errors.js";
import { deepFreeze } from "../freeze.js";
import { applyDelta, type DeltaOp } from "../graph/state.js";
import {
  type CheckpointRecord,
  type CheckpointStatus,
  type CheckpointStore,
  LazyCheckpointRecord,
  recordMeta,
} from "../store/checkpoint-store.js";

/**
 * When checkpoints are written: `"step"` after every node (awaited), `"exit"` buffered and
 * written when the run ends or pauses, `"off"` never (no history, no resume).
 */
export type Durability = "step" | "exit" | "off";

/** Extra data kept with a checkpoint (JSON). */
export interface CheckpointMeta {
  /** Full path up to and including this checkpoint's node; only on full snapshots. */
  readonly path?: readonly string[];
  /** Anything the run needs to continue (pending interrupt, finished branches, trace context). */
  readonly [key: string]: unknown;
}

/** A checkpoint as the API returns it: the record with its state and path rebuilt. */
export interface Checkpoint<S> {
  readonly id: string;
  readonly sessionId: string;
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
  /** Size of the stored payload: a delta costs what the node changed. */
  readonly bytes: number;
}

/** What the run hands over per checkpoint. */
export interface CheckpointInput {
  readonly runId: string;
  readonly node: string | null;
  readonly iteration: number;
  readonly next: readonly string[];
  readonly status: CheckpointStatus;
  readonly delta: readonly DeltaOp[];
  readonly extra?: Record<string, unknown>;
}

const MAX_CHAIN = 2_000;

/**
 * Writes the checkpoints of one thread: a full snapshot first, then deltas, and a new full
 * snapshot once the deltas since the last one weigh more than it (or the chain gets long),
 * so storage grows with what nodes change and rebuilding a state stays bounded.
 */
export class Checkpointer<S extends Record<string, unknown>> {
  readonly threadId: string;
  readonly #store: CheckpointStore;
  readonly #durability: Durability;
  readonly #now: () => number;
  #seq: number;
  #parentId: string | null;
  #snapshotBytes = 0;
  #bytesSinceSnapshot = 0;
  #chain = 0;
  #forceFull: boolean;
  #buffer: CheckpointRecord[] = [];

  constructor(options: {
    readonly threadId: string;
    readonly store: CheckpointStore;
    readonly durability: Durability;
    readonly now: () => number;
    /** The checkpoint this lineage continues, if any. */
    readonly parent: CheckpointRecord | undefined;
    /** The next sequence number of the thread. */
    readonly nextSeq: number;
  }) {
    this.threadId = options.threadId;
    this.#store = options.store;
    this.#durability = options.durability;
    this.#now = options.now;
    this.#seq = options.nextSeq;
    this.#parentId = options.parent?.id ?? null;
    // A continued lineage starts with a full snapshot: its chain length is unknown here.
    this.#forceFull = true;
  }

  /**
   * The state jumped back to an earlier checkpoint (`go_back`): the next checkpoint continues
   * that one's lineage, as a full snapshot.
   */
  jumpTo(checkpointId: string): void {
    this.#parentId = checkpointId;
    this.#forceFull = true;
  }

  get lastId(): string | null {
    return this.#parentId;
  }

  get enabled(): boolean {
    return this.#durability !== "off";
  }

  /**
   * Records a checkpoint; returns it (or `undefined` with durability `"off"`). `state` and
   * `path` are the values after the node, used when a full snapshot is due.
   */
  async save(
    input: CheckpointInput,
    state: S,
    path: readonly string[],
  ): Promise<CheckpointRecord | undefined> {
    if (this.#durability === "off") return undefined;
    const deltaSize = approximateJsonLength(input.delta);
    const full =
      this.#forceFull ||
      this.#chain >= MAX_CHAIN ||
      this.#bytesSinceSnapshot + deltaSize > this.#snapshotBytes;
    // Everything the record holds is deeply frozen (the path is copied: the run extends its
    // own), so serializing it can wait until a store reads it.
    const meta =
      full || input.extra !== undefined
        ? deepFreeze(full ? { ...input.extra, path: [...path] } : { ...input.extra })
        : undefined;
    const seq = this.#seq++;
    const record = new LazyCheckpointRecord(
      {
        threadId: this.threadId,
        id: `${input.runId}.${seq}`,
        seq,
        parentId: this.#parentId,
        runId: input.runId,
        node: input.node,
        iteration: input.iteration,
        next: input.next,
        status: input.status,
        kind: full ? "full" : "delta",
        createdAt: this.#now(),
      },
      full ? state : deepFreeze([...input.delta]),
      meta,
    );
    if (full) {
      this.#forceFull = false;
      this.#snapshotBytes =
        approximateJsonLength(state) + (meta === undefined ? 0 : approximateJsonLength(meta));
      this.#bytesSinceSnapshot = 0;
      this.#chain = 0;
    } else {
      this.#bytesSinceSnapshot += deltaSize;
      this.#chain++;
    }
    this.#parentId = record.id;
    if (this.#durability === "step") await this.#store.append([record]);
    else this.#buffer.push(record);
    return record;
  }

  /** Writes what `"exit"` durability buffered. */
  async flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const records = this.#buffer;
    this.#buffer = [];
    await this.#store.append(records);
  }
}

/** The estimated JSON length of a value that is not an array or object; -1 for one that is. */
function leafLength(value: unknown): number {
  switch (typeof value) {
    case "string":
      return value.length + 2;
    case "number":
    case "bigint":
      return 8;
    case "boolean":
      return 5;
    case "object":
      return value === null ? 4 : -1;
    default:
      return 0;
  }
}

const MAX_ESTIMATE_DEPTH = 1_024;
// One stack for every estimate: the function is synchronous and never re-entered, so the
// estimate made after every node allocates nothing (a fresh stack per call cost 35 ns a step).
const pending: object[] = [];
const depths: number[] = [];

/**
 * About how long `JSON.stringify(value)` would be, without building it: walks the structure
 * but not the characters, so a long string costs as little as a short one. Used only to
 * decide when the next full snapshot is due. Iterative, and it stops descending below
 * `MAX_ESTIMATE_DEPTH` levels, so no value can overflow the stack or loop forever.
 */
export function approximateJsonLength(value: unknown): number {
  const leaf = leafLength(value);
  if (leaf >= 0) return leaf;
  let size = 0;
  // Items are left over only if an earlier walk threw (a getter); start clean then.
  if (pending.length > 0) {
    pending.length = 0;
    depths.length = 0;
  }
  pending.push(value as object);
  depths.push(0);
  while (pending.length > 0) {
    const item = pending.pop() as Record<string, unknown>;
    const depth = depths.pop()!;
    size += 2;
    if (depth >= MAX_ESTIMATE_DEPTH) continue;
    if (Array.isArray(item)) {
      for (const element of item) {
        const length = leafLength(element);
        if (length >= 0) size += length + 1;
        else {
          size += 1;
          pending.push(element as object);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in item) {
        if (!Object.hasOwn(item, key)) continue;
        const element = item[key];
        if (element === undefined) continue;
        size += key.length + 4;
        const length = leafLength(element);
        if (length >= 0) size += length;
        else {
          pending.push(element as object);
          depths.push(depth + 1);
        }
      }
    }
  }
  return size;
}

/** Rebuilds the state and path at one checkpoint from its lineage. */
export async function loadCheckpoint<S extends Record<string, unknown>>(
  store: CheckpointStore,
  threadId: string,
  checkpointId?: string,
): Promise<Checkpoint<S>> {
  const record =
    checkpointId === undefined
      ? await store.latest(threadId)
      : await store.get(threadId, checkpointId);
  if (!record) throw new CheckpointNotFoundError(threadId, checkpointId);
  const chain = await store.lineage(threadId, record.id);
  let state = {} as S;
  let path: string[] = [];
  for (const link of chain) {
    ({ state, path } = step(state, path, link));
  }
  return toCheckpoint(record, state, path);
}

/** Rebuilds every checkpoint of a thread (newest first), sharing work across the lineage. */
export async function loadHistory<S extends Record<string, unknown>>(
  store: CheckpointStore,
  threadId: string,
  limit: number,
): Promise<Checkpoint<S>[]> {
  const newest = await store.list(threadId, { limit });
  if (newest.length === 0) return [];
  const known = new Map<string, { state: S; path: string[] }>();
  const out: Checkpoint<S>[] = [];
  for (const record of [...newest].reverse()) {
    const parent = record.parentId === null ? undefined : known.get(record.parentId);
    let built: { state: S; path: string[] };
    if (record.kind === "full" || parent) {
      built = step(parent?.state ?? ({} as S), parent?.path ?? [], record);
    } else {
      const loaded = await loadCheckpoint<S>(store, threadId, record.id);
      built = { state: loaded.state, path: [...loaded.path] };
    }
    known.set(record.id, built);
    out.push(toCheckpoint(record, built.state, built.path));
  }
  return out.reverse();
}

function step<S extends Record<string, unknown>>(
  state: S,
  path: string[],
  record: CheckpointRecord,
): { state: S; path: string[] } {
  if (record.kind === "full") {
    const meta = recordMeta(record) as CheckpointMeta;
    // A snapshot still held in memory is the frozen state itself: no need to parse it.
    const snapshot =
      record instanceof LazyCheckpointRecord
        ? (record.value as S)
        : (JSON.parse(record.payload) as S);
    return { state: snapshot, path: [...(meta.path ?? [])] };
  }
  const delta =
    record instanceof LazyCheckpointRecord
      ? (record.value as DeltaOp[])
      : (JSON.parse(record.payload) as DeltaOp[]);
  const next = applyDelta(state, delta);
  return { state: next, path: record.node === null ? path : [...path, record.node] };
}

function toCheckpoint<S>(
  record: CheckpointRecord,
  state: S,
  path: readonly string[],
): Checkpoint<S> {
  const meta = recordMeta(record) as CheckpointMeta;
  return {
    id: record.id,
    sessionId: record.threadId,
    runId: record.runId,
    seq: record.seq,
    parentId: record.parentId,
    node: record.node,
    iteration: record.iteration,
    next: record.next,
    status: record.status,
    path: meta.path ?? path,
    state,
    meta,
    createdAt: record.createdAt,
    // Read on demand: a snapshot held in memory is only serialized if someone asks its size.
    get bytes() {
      return record.payload.length;
    },
  };
}
