/**
 * A row of the SQL stores' `deliveries` table, and reading it back into a delivery: one set of
 * rules for SQLite and PostgreSQL. A row that does not hold what a store writes is a
 * `StoreCorruptError` naming the store and the delivery.
 */
import { StoreCorruptError } from "../errors.js";
import type { Delivery, DeliveryStatus } from "./delivery-store.js";

export interface DeliveryRow {
  readonly id: unknown;
  readonly url: unknown;
  readonly type: unknown;
  readonly session_id: unknown;
  readonly checkpoint_id: unknown;
  readonly body: unknown;
  readonly status: unknown;
  readonly attempts: unknown;
  readonly last_error: unknown;
  readonly last_status: unknown;
  readonly created_at: unknown;
  readonly updated_at: unknown;
  readonly due_at: unknown;
}

/** The columns of a {@link DeliveryRow}, to select. */
export const DELIVERY_COLUMNS = [
  "id",
  "url",
  "type",
  "session_id",
  "checkpoint_id",
  "body",
  "status",
  "attempts",
  "last_error",
  "last_status",
  "created_at",
  "updated_at",
  "due_at",
] as const;

const STATUSES: ReadonlySet<unknown> = new Set(["pending", "delivered", "failed"]);

/**
 * The delivery a row holds. Number columns may come as numbers or as decimal text (the
 * PostgreSQL driver gives `bigint` so). `store` names the backend in a `StoreCorruptError`.
 */
export function decodeDeliveryRow(row: DeliveryRow, store: string): Delivery {
  const corrupt = (detail: string) =>
    new StoreCorruptError(store, `deliveries (${String(row.id)}): ${detail}`);
  const text = (value: unknown, column: string): string => {
    if (typeof value !== "string") throw corrupt(`${column} is not text`);
    return value;
  };
  const number = (value: unknown, column: string): number => {
    const n = typeof value === "string" && value !== "" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isFinite(n)) throw corrupt(`${column} is not a number`);
    return n;
  };
  const nullable = (value: unknown, column: string) =>
    value === null ? null : number(value, column);
  if (!STATUSES.has(row.status)) throw corrupt(`status is ${String(row.status)}`);
  return Object.freeze({
    id: text(row.id, "id"),
    url: text(row.url, "url"),
    type: text(row.type, "type"),
    sessionId: text(row.session_id, "session_id"),
    checkpointId: text(row.checkpoint_id, "checkpoint_id"),
    body: text(row.body, "body"),
    status: row.status as DeliveryStatus,
    attempts: number(row.attempts, "attempts"),
    lastError: row.last_error === null ? null : text(row.last_error, "last_error"),
    lastStatus: nullable(row.last_status, "last_status"),
    createdAt: number(row.created_at, "created_at"),
    updatedAt: number(row.updated_at, "updated_at"),
    dueAt: nullable(row.due_at, "due_at"),
  });
}
