/**
 * Reading stored rows back into the store's records. Every column is checked: a row that does
 * not hold what the store wrote is reported as `StoreCorruptError` (a checkpoint whose kind or
 * JSON cannot be read, as an `UnparsableRecord`), never passed on half read.
 */

import type { QueuedInterrupt } from "../../interrupts/interrupt-message.js";
import type { AuditEntry, AuditKind } from "../audit-store.js";
import type { CheckpointRow } from "../checkpoint-row.js";
import { decodeCheckpointRow } from "../checkpoint-row-decoder.js";
import {
  CHECKPOINT_STATUSES,
  type CheckpointStatus,
  type StoredRecord,
} from "../checkpoint-store.js";
import type { InterruptState, SettledOutcome, StoredInterrupt } from "../interrupt-store.js";
import type { SessionSummary } from "../session-store.js";
import { corrupt, STORE_NAME } from "./store-errors.js";

/** JSON text to a value, or `StoreCorruptError` naming what it belongs to. */
export function parseJson(text: unknown, what: string): unknown {
  if (typeof text !== "string")
    throw corrupt(`${what} is ${text === null ? "missing" : "not text"}`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw corrupt(`${what} is not valid JSON`, error);
  }
}

/** A `bigint` column (the driver gives text) or an integer one, as a number. */
export function num(value: unknown, what: string): number {
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) throw corrupt(`${what} is not a number`);
  return n;
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string") throw corrupt(`${what} is not text`);
  return value;
}

function optionalText(value: unknown, what: string): string | null {
  return value === null ? null : text(value, what);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function status(value: unknown, what: string): CheckpointStatus {
  if (!(CHECKPOINT_STATUSES as readonly unknown[]).includes(value)) {
    throw corrupt(`${what} has an unknown status`);
  }
  return value as CheckpointStatus;
}

/**
 * A checkpoint row as a record, by the rules both SQL stores share. The driver gives `bigint`
 * columns as text; they become numbers first, and text that is not an integer is left for the
 * decoder to refuse.
 */
export function toCheckpoint(row: CheckpointRow): StoredRecord {
  return decodeCheckpointRow(
    { ...row, seq: bigint(row.seq), created_at: bigint(row.created_at) },
    STORE_NAME,
  );
}

function bigint(value: unknown): unknown {
  return typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
}

export const INTERRUPT_COLUMNS = "id, seq, message, state, claimed_by, outcome";

export interface InterruptRow {
  readonly id: unknown;
  readonly seq: unknown;
  readonly message: unknown;
  readonly state?: unknown;
  readonly claimed_by?: unknown;
  readonly outcome?: unknown;
}

export function toMessage(row: InterruptRow): QueuedInterrupt {
  const what = `interrupt \`${String(row.id)}\``;
  const message = parseJson(row.message, `the message of ${what}`);
  if (
    !isObject(message) ||
    typeof message.id !== "string" ||
    typeof message.sessionId !== "string"
  ) {
    throw corrupt(`the message of ${what} is not a queued interrupt`);
  }
  return { ...message, seq: num(row.seq, `the seq of ${what}`) } as unknown as QueuedInterrupt;
}

const STATES: readonly InterruptState[] = [
  "queued",
  "claimed",
  "applied",
  "refused",
  "expired",
  "cleared",
];

export function toStoredInterrupt(row: InterruptRow): StoredInterrupt {
  const message = toMessage(row);
  if (!(STATES as readonly unknown[]).includes(row.state)) {
    throw corrupt(`interrupt \`${message.id}\` has an unknown state`);
  }
  const outcome =
    row.outcome === null || row.outcome === undefined
      ? undefined
      : parseJson(row.outcome, `the outcome of interrupt \`${message.id}\``);
  if (outcome !== undefined && !isObject(outcome)) {
    throw corrupt(`the outcome of interrupt \`${message.id}\` is not an object`);
  }
  const claimedBy = optionalText(row.claimed_by ?? null, `the claimant of ${message.id}`);
  return {
    message,
    state: row.state as InterruptState,
    ...(outcome === undefined ? {} : { outcome: outcome as unknown as SettledOutcome }),
    ...(claimedBy === null ? {} : { claimedBy }),
  };
}

export const AUDIT_COLUMNS = "session_id, seq, at, kind, run_id, actor, node, iteration, data";

export interface AuditRow {
  readonly session_id: unknown;
  readonly seq: unknown;
  readonly at: unknown;
  readonly kind: unknown;
  readonly run_id: unknown;
  readonly actor: unknown;
  readonly node: unknown;
  readonly iteration: unknown;
  readonly data: unknown;
}

export function toAuditEntry(row: AuditRow): AuditEntry {
  const seq = num(row.seq, "the seq of an audit entry");
  const what = `audit entry ${seq}`;
  const runId = optionalText(row.run_id, `the run of ${what}`);
  const actor = optionalText(row.actor, `the actor of ${what}`);
  const node = optionalText(row.node, `the node of ${what}`);
  return {
    sessionId: text(row.session_id, `the session of ${what}`),
    ...(runId === null ? {} : { runId }),
    at: num(row.at, `the time of ${what}`),
    kind: text(row.kind, `the kind of ${what}`) as AuditKind,
    ...(actor === null ? {} : { actor }),
    ...(node === null ? {} : { node }),
    ...(row.iteration === null
      ? {}
      : { iteration: num(row.iteration, `the iteration of ${what}`) }),
    ...(row.data === null ? {} : { data: parseJson(row.data, `the data of ${what}`) }),
    seq,
  };
}

export interface SummaryRow {
  readonly session_id: unknown;
  readonly graph: unknown;
  readonly status: unknown;
  readonly checkpoint_id: unknown;
  readonly created_at: unknown;
  readonly updated_at: unknown;
  readonly gate: unknown;
}

export function toSummary(row: SummaryRow): SessionSummary {
  const sessionId = text(row.session_id, "a session id");
  const what = `the summary of session \`${sessionId}\``;
  const gate = row.gate === null ? undefined : parseJson(row.gate, `the gate in ${what}`);
  if (gate !== undefined && !isObject(gate)) throw corrupt(`the gate in ${what} is not an object`);
  return {
    sessionId,
    graph: optionalText(row.graph, `the graph in ${what}`) ?? "",
    status: status(row.status, what),
    checkpointId: text(row.checkpoint_id, `the checkpoint in ${what}`),
    createdAt: num(row.created_at, `the first time in ${what}`),
    updatedAt: num(row.updated_at, `the last time in ${what}`),
    ...(gate === undefined ? {} : { gate: gate as unknown as NonNullable<SessionSummary["gate"]> }),
  };
}
