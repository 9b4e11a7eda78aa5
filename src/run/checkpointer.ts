import { deepFreeze } from "../freeze.js";
import type { DeltaOp } from "../graph/state.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import {
  CHECKPOINT_META_VERSION,
  type CheckpointMeta,
  keyBaseField,
} from "../store/checkpoint-meta.js";
import type { CheckpointRecord, CheckpointStatus } from "../store/checkpoint-store.js";
import type { Settlement } from "../store/interrupt-store.js";
import type { Lease } from "../store/session-store.js";
import type { Store, StoreBatch } from "../store/store.js";
import { builtRecord } from "./checkpoint-reader.js";

/**
 * When checkpoints are written: `"step"` after every node (awaited), `"exit"` buffered and
 * written when the run ends, waits, or consumes an interrupt, `"off"` never (no history, no
 * resume).
 */
export type Durability = "step" | "exit" | "off";

/** What the run hands over per checkpoint. */
export interface CheckpointInput {
  readonly runId: string;
  readonly node: string | null;
  readonly iteration: number;
  readonly next: readonly string[];
  readonly status: CheckpointStatus;
  readonly delta: readonly DeltaOp[];
  /** Meta fields (everything but `v`, `path` and the key base, which the checkpointer sets). */
  readonly meta?: Omit<CheckpointMeta, "v" | "path" | "keyFrom" | "keySeq">;
  /**
   * The checkpoint does not change the run's course (a node's step, a run's end, a wait, a
   * node's saved progress): the steps after it keep the key base of the steps before it, and
   * its meta names that base. The base moves only at checkpoints that change the course (the
   * start of a run, a decision, a jump back, a fork, a node's own failure), whose writes wait
   * for the disk; steps after a base tell themselves apart by their depth. So when a crash of
   * the database rolls back the last steps' checkpoints, the steps run again under the keys
   * they had: a key never derives from a checkpoint that can be lost.
   */
  readonly keepsKeyBase?: boolean;
}

/** What is written in the same transaction as a checkpoint (or on its own). */
export interface Extras {
  readonly settle?: readonly Settlement[];
  readonly audit?: readonly AuditEntryInput[];
}

const MAX_CHAIN = 2_000;

const ignore = () => {};

/** The meta of a checkpoint that records nothing but its place. */
const PLAIN_META: CheckpointMeta = Object.freeze({ v: CHECKPOINT_META_VERSION });

/**
 * Writes the checkpoints of one thread: a full snapshot first, then deltas, and a new full
 * snapshot once the deltas since the last one weigh more than it (or the chain gets long), so
 * storage grows with what nodes change and rebuilding a state stays bounded. Each write is one
 * `Store.commit`, fenced by the run's lease, together with the messages and audit entries that
 * belong to it.
 */
export class Checkpointer {
  readonly #store: Store;
  readonly #sessionId: string;
  readonly #thread: string;
  readonly #durability: Durability;
  readonly #now: () => number;
  readonly #lease: () => Lease | undefined;
  #seq: number;
  #parentId: string | null;
  /** The latest checkpoint of this lineage known to be stored. */
  #storedId: string | null;
  /** The checkpoint the idempotency keys of the next steps derive from. */
  #keyBase: string | null;
  /** The key base before the first record of the batch being built. */
  #batchKeyBase: string | null = null;
  /** The meta of a plain step under the current key base, shared by every such step. */
  #plainStep:
    | { readonly base: string; readonly runId: string; readonly meta: CheckpointMeta }
    | undefined;
  #snapshotBytes = 0;
  #bytesSinceSnapshot = 0;
  #chain = 0;
  #forceFull = true;
  /** Session facts of a first checkpoint that was not written, for the next one. */
  #carried: Pick<CheckpointMeta, "graph" | "forkedFrom"> | undefined;
  #records: CheckpointRecord[] = [];
  /** The write under way: writes go to the store one after the other, in the order made. */
  /** The latest write (it may have failed: its caller was told). */
  #writing: Promise<void> = Promise.resolve();
  #busy = 0;
  #settle: Settlement[] = [];
  #audit: AuditEntryInput[] = [];

  constructor(options: {
    readonly store: Store;
    readonly sessionId: string;
    readonly thread: string;
    readonly durability: Durability;
    readonly now: () => number;
    readonly lease: () => Lease | undefined;
    /** The checkpoint this lineage continues, if any. */
    readonly parentId: string | null;
    /** The checkpoint the keys of the next steps derive from; `parentId` when absent. */
    readonly keyBase?: string | null | undefined;
    /** The next sequence number of the thread. */
    readonly nextSeq: number;
  }) {
    this.#store = options.store;
    this.#sessionId = options.sessionId;
    this.#thread = options.thread;
    this.#durability = options.durability;
    this.#now = options.now;
    this.#lease = options.lease;
    this.#seq = options.nextSeq;
    this.#parentId = options.parentId;
    this.#storedId = options.parentId;
    this.#keyBase = options.keyBase === undefined ? options.parentId : options.keyBase;
  }

  /**
   * The state jumped back to an earlier checkpoint (`go_back`): the next checkpoint continues
   * that one's lineage, as a full snapshot.
   */
  jumpTo(checkpointId: string): void {
    this.#parentId = checkpointId;
    this.#forceFull = true;
  }

  /** `{ v, keySeq }` (or `keyFrom`), built once per key base: most steps have no other meta. */
  #stepMeta(base: string, runId: string): CheckpointMeta {
    const cached = this.#plainStep;
    if (cached !== undefined && cached.base === base && cached.runId === runId) return cached.meta;
    const meta = Object.freeze({ v: CHECKPOINT_META_VERSION, ...keyBaseField(base, runId) });
    this.#plainStep = { base, runId, meta };
    return meta;
  }

  /** The latest checkpoint of this lineage (written or buffered). */
  get lastId(): string | null {
    return this.#parentId;
  }

  /**
   * The checkpoint the idempotency keys of steps that start now derive from: the latest one
   * that changed the run's course (the start of a run, a decision, a jump back, a parallel
   * step, a node's own failure). A node's step, a run's end, a wait or a node's saved progress
   * leave it where it was (see {@link CheckpointInput.keepsKeyBase}), so a step that runs
   * again after them gets the key it had.
   */
  get keyBase(): string | null {
    return this.#keyBase;
  }

  /** Whether checkpoints are written at all (durability is not `"off"`). */
  get enabled(): boolean {
    return this.#durability !== "off";
  }

  /**
   * Records a checkpoint with what belongs to it and returns the record (`undefined` with
   * durability `"off"`, where only the extras are written). `state` and `path` are the values
   * after the node (`path` is read only when a full snapshot is due). Writes at once with `"step"`, when the
   * extras settle a message, or with `flush`.
   */
  async save(
    input: CheckpointInput,
    state: Readonly<Record<string, unknown>>,
    path: () => readonly string[],
    extras?: Extras,
    flush = false,
  ): Promise<CheckpointRecord | undefined> {
    const record = this.enabled ? this.#build(input, state, path) : undefined;
    if (record !== undefined) this.#records.push(record);
    this.#add(extras);
    if (this.#durability !== "exit" || flush || this.#settle.length > 0) await this.flush();
    return record;
  }

  /**
   * Builds a checkpoint and keeps it for the next write, which stores it in the same
   * transaction: the checkpoints of one parallel step are written together, so a crash never
   * leaves one of them as the latest.
   */
  stage(
    input: CheckpointInput,
    state: Readonly<Record<string, unknown>>,
    path: () => readonly string[],
  ): CheckpointRecord | undefined {
    if (!this.enabled) return undefined;
    const record = this.#build(input, state, path);
    this.#records.push(record);
    return record;
  }

  /** Writes extras that have no checkpoint of their own, with what is buffered before them. */
  async commit(extras: Extras, flush = true): Promise<void> {
    this.#add(extras);
    if (flush || this.#settle.length > 0 || this.#durability !== "exit") await this.flush();
  }

  /** Writes everything buffered, in one transaction, after any write still under way. */
  async flush(): Promise<void> {
    if (this.#records.length === 0 && this.#settle.length === 0 && this.#audit.length === 0) {
      // Nothing to write: wait for a write still under way, whatever became of it.
      return this.#busy === 0 ? Promise.resolve() : this.#writing.then(ignore, ignore);
    }
    const checkpoints = this.#records;
    const keyBase = this.#batchKeyBase;
    const settle = this.#settle;
    const audit = this.#audit;
    this.#records = [];
    this.#settle = [];
    this.#audit = [];
    // A failed write fails its caller; the next one still goes (and conflicts if it must).
    // Most writes find none under way and start at once, without a promise hop. The write is
    // a method called from anonymous arrows, not a named one made per flush: under tsx
    // (esbuild's `keepNames`) each named arrow made costs a call that defines its `name`.
    this.#busy++;
    const next =
      this.#busy === 1
        ? this.#write(checkpoints, keyBase, settle, audit)
        : this.#writing.then(
            () => this.#write(checkpoints, keyBase, settle, audit),
            () => this.#write(checkpoints, keyBase, settle, audit),
          );
    this.#writing = next;
    return next;
  }

  /** One batch's write, in its turn (see {@link flush}). */
  async #write(
    checkpoints: CheckpointRecord[],
    keyBase: string | null,
    settle: Settlement[],
    audit: AuditEntryInput[],
  ): Promise<void> {
    try {
      const lease = this.#lease();
      try {
        // Filled in field by field rather than spread together: this runs on every step.
        const batch: { -readonly [K in keyof StoreBatch]: StoreBatch[K] } = { now: this.#now() };
        if (lease !== undefined) batch.lease = lease;
        if (checkpoints.length > 0) batch.checkpoints = checkpoints;
        if (settle.length > 0) batch.settle = settle;
        if (audit.length > 0) batch.audit = audit;
        await this.#store.commit(batch);
        if (checkpoints.length > 0) this.#storedId = checkpoints.at(-1)!.id;
      } catch (error) {
        this.#lost(checkpoints, keyBase);
        throw error;
      }
    } finally {
      this.#busy--;
    }
  }

  /**
   * A batch was not written: the next checkpoint continues the last one that was, as a full
   * snapshot, so no record ever names a parent (or a delta base) that is not stored. That is the
   * latest stored checkpoint, not the lost batch's parent: a jump back whose checkpoint was lost
   * did not happen. Records built on top of the lost ones since are left as they are: their
   * write fails the same way.
   */
  #lost(checkpoints: readonly CheckpointRecord[], keyBase: string | null): void {
    const first = checkpoints[0];
    if (first === undefined || this.#parentId !== checkpoints.at(-1)!.id) return;
    this.#parentId = this.#storedId;
    this.#keyBase = keyBase;
    this.#forceFull = true;
    // What a run's first checkpoint says of the session (the graph that runs it, a fork's
    // origin) goes on the next one instead.
    for (const record of checkpoints) {
      const { graph, forkedFrom } = record.meta;
      if (graph !== undefined) this.#carried = { ...this.#carried, graph };
      if (forkedFrom !== undefined) this.#carried = { ...this.#carried, forkedFrom };
    }
  }

  #add(extras: Extras | undefined): void {
    if (extras?.settle !== undefined) for (const s of extras.settle) this.#settle.push(s);
    if (extras?.audit !== undefined) for (const a of extras.audit) this.#audit.push(a);
  }

  #build(
    input: CheckpointInput,
    state: Readonly<Record<string, unknown>>,
    path: () => readonly string[],
  ): CheckpointRecord {
    const deltaSize = approximateJsonLength(input.delta);
    const full =
      this.#forceFull ||
      this.#chain >= MAX_CHAIN ||
      this.#bytesSinceSnapshot + deltaSize > this.#snapshotBytes;
    const seq = this.#seq++;
    const id = `${input.runId}.${seq}`;
    // A record that keeps the key base names it; any other becomes the base.
    if (this.#records.length === 0) this.#batchKeyBase = this.#keyBase;
    const keyFrom = input.keepsKeyBase === true ? this.#keyBase : null;
    if (keyFrom === null) this.#keyBase = id;
    // Everything a record holds is deeply frozen (the path is copied: the run extends its
    // own), so the memory store can keep it by reference and other stores serialize it as is.
    // A step with no meta of its own (most of them) shares one frozen meta.
    const session = this.#carried;
    const carried =
      keyFrom === null ? session : { ...session, ...keyBaseField(keyFrom, input.runId) };
    this.#carried = undefined;
    const meta: CheckpointMeta = full
      ? deepFreeze({ v: CHECKPOINT_META_VERSION, ...carried, ...input.meta, path: [...path()] })
      : input.meta === undefined && carried === undefined
        ? PLAIN_META
        : input.meta === undefined && session === undefined && keyFrom !== null
          ? this.#stepMeta(keyFrom, input.runId)
          : deepFreeze({ v: CHECKPOINT_META_VERSION, ...carried, ...input.meta });
    const next = Object.isFrozen(input.next) ? input.next : Object.freeze([...input.next]);
    // Each kind is built as one literal: spreading shared fields into it cost a copy per step.
    let record: CheckpointRecord;
    if (full) {
      record = Object.freeze({
        sessionId: this.#sessionId,
        thread: this.#thread,
        id,
        seq,
        parentId: this.#parentId,
        runId: input.runId,
        node: input.node,
        iteration: input.iteration,
        next,
        status: input.status,
        meta,
        createdAt: this.#now(),
        kind: "full" as const,
        state,
      });
      this.#forceFull = false;
      this.#snapshotBytes = approximateJsonLength(state) + approximateJsonLength(meta);
      this.#bytesSinceSnapshot = 0;
      this.#chain = 0;
    } else {
      record = Object.freeze({
        sessionId: this.#sessionId,
        thread: this.#thread,
        id,
        seq,
        parentId: this.#parentId,
        runId: input.runId,
        node: input.node,
        iteration: input.iteration,
        next,
        status: input.status,
        meta,
        createdAt: this.#now(),
        kind: "delta" as const,
        delta: Object.isFrozen(input.delta) ? input.delta : deepFreeze([...input.delta]),
      });
      this.#bytesSinceSnapshot += deltaSize;
      this.#chain++;
    }
    this.#parentId = record.id;
    builtRecord(record);
    return record;
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
