/**
 * Records and messages the shared store suite writes, and helpers to wait for what a store
 * does asynchronously (SQL notifiers deliver events from a poller or a LISTEN connection).
 */

import type { QueuedInterrupt } from "../../../src/interrupts/interrupt-message.js";
import type { AuditEntryInput } from "../../../src/store/audit-store.js";
import { CHECKPOINT_META_VERSION } from "../../../src/store/checkpoint-meta.js";
import type { CheckpointRecord } from "../../../src/store/checkpoint-store.js";
import type {
  EnqueueLimits,
  EnqueueResult,
  NewInterruptRecord,
} from "../../../src/store/interrupt-store.js";
import type { Lease, LeaseRequest } from "../../../src/store/session-store.js";
import type { Store } from "../../../src/store/store.js";

export const T0 = 1_700_000_000_000;
export const HOUR = 3_600_000;
export const WIDE: EnqueueLimits = { maxQueueSize: 1000, maxSessions: 1000 };

/** A checkpoint: seq 1 is a full snapshot, later ones deltas on the previous seq. */
export function checkpoint(
  sessionId: string,
  seq: number,
  fields: Partial<CheckpointRecord> & { readonly thread?: string } = {},
): CheckpointRecord {
  const thread = fields.thread ?? "";
  const base = {
    sessionId,
    thread,
    id: `${sessionId}|${thread}#${seq}`,
    seq,
    parentId: seq === 1 ? null : `${sessionId}|${thread}#${seq - 1}`,
    runId: "run-1",
    node: seq === 1 ? null : `node-${seq}`,
    iteration: seq - 1,
    next: [`node-${seq + 1}`],
    status: "running" as const,
    meta: { v: CHECKPOINT_META_VERSION },
    createdAt: T0 + seq,
  };
  const payload =
    (fields.kind ?? (seq === 1 ? "full" : "delta")) === "full"
      ? { kind: "full" as const, state: { count: seq, nested: { list: [1, "two", null, true] } } }
      : { kind: "delta" as const, delta: [["count", "set", seq]] as const };
  return { ...base, ...payload, ...fields } as CheckpointRecord;
}

let counter = 0;
/** A free-text message. */
export function message(
  sessionId: string,
  fields: { priority?: number; queuedAt?: number; ttl?: number; id?: string } = {},
): NewInterruptRecord {
  counter++;
  const queuedAt = fields.queuedAt ?? T0;
  return {
    id: fields.id ?? `msg-${process.pid}-${counter}`,
    sessionId,
    priority: fields.priority ?? 2,
    queuedAt,
    expiresAt: queuedAt + (fields.ttl ?? HOUR),
    kind: "text",
    text: `message ${counter}`,
  };
}

/** The `interrupt.received` entry that goes with a message. */
export function received(record: NewInterruptRecord): AuditEntryInput {
  return {
    sessionId: record.sessionId,
    at: record.queuedAt,
    kind: "interrupt.received",
    data: { id: record.id, priority: record.priority },
  };
}

/** Enqueues with the wide limits and its audit entry; returns what the store queued. */
export async function enqueue(
  store: Store,
  record: NewInterruptRecord,
  limits: EnqueueLimits = WIDE,
): Promise<QueuedInterrupt> {
  return accepted(await store.interrupts.enqueue(record, limits, received(record)));
}

export function accepted(result: EnqueueResult): QueuedInterrupt {
  if (!result.ok) throw new Error(`expected the message to be queued, got ${result.reason}`);
  return result.record;
}

let tokens = 0;
export function leaseRequest(sessionId: string, fields: Partial<LeaseRequest> = {}): LeaseRequest {
  tokens++;
  return {
    sessionId,
    owner: `owner-${tokens}`,
    token: `token-${process.pid}-${tokens}`,
    ttlMs: 30_000,
    now: T0,
    ...fields,
  };
}

/** Takes a lease, failing the test when the session is busy. */
export async function lease(
  store: Store,
  sessionId: string,
  fields: Partial<LeaseRequest> = {},
): Promise<Lease> {
  const result = await store.sessions.acquire(leaseRequest(sessionId, fields));
  if (!result.ok) throw new Error(`expected the lease of ${sessionId}, held by ${result.owner}`);
  return result.lease;
}

/** JSON equality: what a serializing store gives back for what it was given. */
export function asJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Waits (real time) until `check` passes, for events a store delivers asynchronously. */
export async function eventually(
  check: () => void | Promise<void>,
  timeoutMs = 3_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** An open approval gate as a checkpoint's meta holds it. */
export const GATE = {
  requestId: "r1",
  node: "draft",
  revision: 0,
  maxRevisions: 3,
  output: { draft: "x" },
  history: [],
  openedAt: T0,
  queueSeq: 0,
};
