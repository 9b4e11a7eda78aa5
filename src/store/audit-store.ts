import { InvalidOptionError } from "../errors.js";
import type { Page, PageOptions } from "./page.js";

/**
 * What an audit entry records. Trellis writes the named kinds; applications may add their own
 * under `custom.`.
 */
export type AuditKind =
  | "interrupt.received"
  | "interrupt.applied"
  | "interrupt.refused"
  | "interrupt.expired"
  | "interrupt.cleared"
  | "run.started"
  | "run.resumed"
  | "run.forked"
  | "run.paused"
  | "run.finished"
  | "approval.requested"
  | "approval.decided"
  | "state.updated"
  | "session.deleted"
  | `custom.${string}`;

/** An audit entry as it is appended. */
export interface AuditEntryInput {
  readonly sessionId: string;
  readonly runId?: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly kind: AuditKind;
  /** Who caused it: the interrupt's sender, a reviewer, `system`, … */
  readonly actor?: string;
  readonly node?: string;
  readonly iteration?: number;
  /** JSON-serialisable details; stored as a JSON copy. */
  readonly data?: unknown;
}

/** An audit entry as it is stored: `seq` numbers the session's entries from 1 in append order. */
export interface AuditEntry extends AuditEntryInput {
  readonly seq: number;
}

/** Which entries `prune` deletes. */
export interface AuditPruneOptions {
  /** Entries appended before this time (milliseconds since the epoch). */
  readonly before: number;
  /** Only this session's entries; default: every session's. */
  readonly sessionId?: string;
}

/**
 * The append-only audit trail: who steered which session, when, and what came of it. Entries
 * are never changed; they are removed only by `prune` (retention). Entries that belong to a
 * checkpoint or a queued message are written in the same transaction as it (`Store.commit`,
 * `InterruptStore.enqueue`). Every backend passes the shared suite in `test/store`.
 *
 * @example
 * ```ts
 * await store.audit.append({ sessionId: "s1", at: Date.now(), kind: "custom.note", actor: "ana" });
 * const { items, total } = await store.audit.list("s1", { limit: 20 });
 * ```
 */
export interface AuditStore {
  /** Appends one entry and returns its `seq`. `data` must be JSON-serialisable. */
  append(entry: AuditEntryInput): Promise<number>;
  /** The session's entries oldest first, one page at a time, and how many there are. */
  list(sessionId: string, page?: PageOptions): Promise<Page<AuditEntry>>;
  /** Deletes old entries (retention); returns how many. `seq` numbers are never reused. */
  prune(options: AuditPruneOptions): Promise<number>;
}

/**
 * Checks an entry's fields before it is appended; throws `InvalidOptionError` naming the first
 * wrong one. Every backend calls it, so all refuse the same entries.
 */
export function checkAuditEntry(entry: AuditEntryInput): void {
  if (typeof entry.sessionId !== "string" || entry.sessionId.length === 0) {
    throw new InvalidOptionError("sessionId", "a non-empty string", entry.sessionId);
  }
  if (!Number.isFinite(entry.at)) {
    throw new InvalidOptionError("at", "a finite number of milliseconds", entry.at);
  }
}
