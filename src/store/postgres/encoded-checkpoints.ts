/**
 * A batch's checkpoints as the PostgreSQL statements bind them: checked, encoded as rows in
 * table order, with the session summaries they write and the events they announce; and the
 * errors a statement's refusal stands for.
 */
import { CheckpointConflictError, LeaseLostError } from "../../errors.js";
import { namesKeyBase } from "../checkpoint-meta.js";
import { checkpointRowValues } from "../checkpoint-row.js";
import type { CheckpointRecord } from "../checkpoint-store.js";
import { jsonText } from "../json-text.js";
import type { StoreEvent } from "../notifier.js";
import type { Lease } from "../session-store.js";
import { gateEffect } from "../summary-gate.js";

/** The SQLSTATE the statement raises when the batch's lease is not the session's any more. */
export const LEASE_LOST = "TL001";
/** The SQLSTATE the statement raises when a checkpoint collides; its message is the record's index. */
export const CONFLICT = "TC001";

/** The checkpoint columns in table order, with their types. */
export const COLUMNS = [
  ["session_id", "text"],
  ["thread", "text"],
  ["seq", "bigint"],
  ["id", "text"],
  ["parent_id", "text"],
  ["run_id", "text"],
  ["node", "text"],
  ["iteration", "integer"],
  ["next", "text"],
  ["status", "text"],
  ["kind", "text"],
  ["payload", "text"],
  ["meta", "text"],
  ["created_at", "bigint"],
] as const;

/** A summary row per session whose own thread the batch writes. */
export interface Summary {
  sessionId: string;
  graph: string | null;
  status: string;
  checkpointId: string;
  createdAt: number;
  updatedAt: number;
  gate: string | null;
  /**
   * The row keeps the gate it holds and `gate` is null: the batch's last record of the own
   * thread only saves a node's progress, and no earlier one of the batch set a gate (see
   * `gateEffect`).
   */
  keepsGate: boolean;
}

/** A batch's checkpoints, checked and encoded. */
export interface EncodedCheckpoints {
  readonly records: readonly CheckpointRecord[];
  /** One row per record, the columns in table order. */
  readonly rows: readonly (readonly unknown[])[];
  readonly summaries: readonly Summary[];
  /** The `checkpoint` events of the session's own threads, in order. */
  readonly events: readonly StoreEvent[];
  /**
   * Whether a record of a nested graph's thread may change its session's gate (`gateEffect`
   * says `"nested"`): the batch then goes as a transaction that reads the gate (`nested-gates.ts`).
   */
  readonly nested: boolean;
}

function conflict(record: CheckpointRecord): CheckpointConflictError {
  return new CheckpointConflictError(record.sessionId, record.thread, record.id, record.seq);
}

/**
 * Encodes the checkpoints of a batch. Within the batch, each thread's `seq`s must increase and
 * its ids differ (`CheckpointConflictError` otherwise); the statement checks them against what
 * is stored.
 */
export function encodeCheckpoints(records: readonly CheckpointRecord[]): EncodedCheckpoints {
  const last = new Map<string, number>();
  const ids = new Set<string>();
  const summaries = new Map<string, Summary>();
  const rows: unknown[][] = [];
  const events: StoreEvent[] = [];
  let nested = false;
  for (const record of records) {
    const key = `${record.sessionId}\u0000${record.thread}`;
    const before = last.get(key);
    if ((before !== undefined && record.seq <= before) || ids.has(`${key}\u0000${record.id}`)) {
      throw conflict(record);
    }
    last.set(key, record.seq);
    ids.add(`${key}\u0000${record.id}`);
    rows.push(checkpointRowValues(record));
    const effect = gateEffect(record);
    if (record.thread !== "") {
      nested ||= effect === "nested";
      continue;
    }
    const previous = summaries.get(record.sessionId);
    const keeps = effect === "keep";
    summaries.set(record.sessionId, {
      sessionId: record.sessionId,
      graph: record.meta.graph ?? previous?.graph ?? null,
      status: record.status,
      checkpointId: record.id,
      createdAt: previous?.createdAt ?? record.createdAt,
      updatedAt: record.createdAt,
      gate: keeps
        ? (previous?.gate ?? null)
        : record.meta.gate === undefined
          ? null
          : jsonText(record.meta.gate, "meta.gate"),
      keepsGate: keeps && (previous === undefined || previous.keepsGate),
    });
    const event: StoreEvent = {
      kind: "checkpoint",
      sessionId: record.sessionId,
      thread: record.thread,
      id: record.id,
      status: record.status,
    };
    events.push(event);
  }
  return { records, rows, summaries: [...summaries.values()], events, nested };
}

/**
 * Whether a batch may commit without waiting for the disk under `stepCommit: "fast"`: one
 * checkpoint of a running step and nothing else. A gate, a pause or the end of a run, and the
 * messages and audit entries that go with a step, always wait; so does a checkpoint that later
 * steps' idempotency keys derive from (one whose meta names no key base: it changed the run's
 * course), so that a crash of the server never takes the base of a key.
 */
export function isRunningStep(encoded: EncodedCheckpoints): boolean {
  const record = encoded.records[0];
  return encoded.records.length === 1 && record!.status === "running" && namesKeyBase(record!.meta);
}

/** The error a refusal of a checkpoint statement means, or `undefined` for any other error. */
export function refusalOf(
  error: unknown,
  encoded: EncodedCheckpoints,
  lease: Lease | undefined,
): Error | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === LEASE_LOST && lease !== undefined) return new LeaseLostError(lease.sessionId);
  if (code !== CONFLICT) return undefined;
  const index = Number((error as Error).message) - 1;
  const record = encoded.records[Number.isInteger(index) ? index : 0] ?? encoded.records[0];
  return record === undefined ? undefined : conflict(record);
}
