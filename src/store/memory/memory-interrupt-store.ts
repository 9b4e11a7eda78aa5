import { DuplicateInterruptError } from "../../errors.js";
import { deepFreeze, isFrozenJson } from "../../freeze.js";
import type { QueuedInterrupt } from "../../interrupts/interrupt-message.js";
import type { AuditEntryInput } from "../audit-store.js";
import {
  type ClaimOptions,
  type EnqueueLimits,
  type EnqueueResult,
  type InterruptRemoval,
  type InterruptState,
  type InterruptStats,
  type InterruptStore,
  type NewInterruptRecord,
  removalAuditEntry,
  type SettledOutcome,
  type Settlement,
  type StoredInterrupt,
} from "../interrupt-store.js";
import { type Page, type PageOptions, resolvePage } from "../page.js";
import type { MemoryAuditStore } from "./memory-audit-store.js";
import type { MemoryNotifier } from "./memory-notifier.js";

interface Counters {
  queued: number;
  applied: number;
  refused: number;
  expired: number;
  cleared: number;
  inFlight: number;
  totalDecisionMs: number;
  maxDecisionMs: number;
}

interface SessionQueue {
  /** Queued messages in service order: priority, then seq. */
  queued: QueuedInterrupt[];
  nextSeq: number;
  readonly counters: Counters;
}

/** A message wherever it stands; the store's own mutable bookkeeping. */
interface Entry {
  readonly message: QueuedInterrupt;
  state: InterruptState;
  outcome?: SettledOutcome;
  claimedBy?: string;
}

const newCounters = (): Counters => ({
  queued: 0,
  applied: 0,
  refused: 0,
  expired: 0,
  cleared: 0,
  inFlight: 0,
  totalDecisionMs: 0,
  maxDecisionMs: 0,
});

/**
 * Interrupt queues in process memory. Every method runs to completion without awaiting, so
 * concurrent callers in one process see each step as atomic. Stored messages are frozen.
 */
export class MemoryInterruptStore implements InterruptStore {
  readonly #sessions = new Map<string, SessionQueue>();
  /** Every message the store knows, by id. */
  readonly #entries = new Map<string, Entry>();
  /** Sessions with at least one queued message. */
  #activeSessions = 0;
  readonly #audit: MemoryAuditStore;
  readonly #notifier: MemoryNotifier;

  constructor(audit: MemoryAuditStore, notifier: MemoryNotifier) {
    this.#audit = audit;
    this.#notifier = notifier;
  }

  #session(sessionId: string): SessionQueue {
    let session = this.#sessions.get(sessionId);
    if (!session) {
      session = { queued: [], nextSeq: 1, counters: newCounters() };
      this.#sessions.set(sessionId, session);
    }
    return session;
  }

  /** Replaces a session's queue, keeping the active-session count right. */
  #setQueued(session: SessionQueue, next: QueuedInterrupt[]): void {
    if (session.queued.length > 0 && next.length === 0) this.#activeSessions--;
    if (session.queued.length === 0 && next.length > 0) this.#activeSessions++;
    session.queued = next;
  }

  /** Puts a message into the queue at its place in service order. */
  #insert(session: SessionQueue, message: QueuedInterrupt): void {
    const next = [...session.queued];
    let index = next.length;
    while (
      index > 0 &&
      (next[index - 1]!.priority > message.priority ||
        (next[index - 1]!.priority === message.priority && next[index - 1]!.seq > message.seq))
    ) {
      index--;
    }
    next.splice(index, 0, message);
    this.#setQueued(session, next);
  }

  async enqueue(
    record: NewInterruptRecord,
    limits: EnqueueLimits,
    audit: AuditEntryInput,
  ): Promise<EnqueueResult> {
    if (this.#entries.has(record.id)) throw new DuplicateInterruptError(record.id);
    const existing = this.#sessions.get(record.sessionId);
    const depth = existing?.queued.length ?? 0;
    if (depth >= limits.maxQueueSize) return { ok: false, reason: "queue_full", depth };
    if (depth === 0 && this.#activeSessions >= limits.maxSessions) {
      return { ok: false, reason: "too_many_sessions", sessions: this.#activeSessions };
    }
    const session = this.#session(record.sessionId);
    const seq = session.nextSeq;
    // A deeply frozen record (what the service sends) cannot change, so it is kept as it is;
    // anything else is copied (as JSON, which it is by contract) and frozen.
    const stored: QueuedInterrupt = isFrozenJson(record)
      ? Object.freeze({ ...record, seq } as QueuedInterrupt)
      : deepFreeze(JSON.parse(JSON.stringify({ ...record, seq })) as QueuedInterrupt);
    session.nextSeq++;
    session.counters.queued++;
    this.#insert(session, stored);
    this.#entries.set(stored.id, { message: stored, state: "queued" });
    this.#audit.insert({ ...audit, data: { ...(audit.data as object | undefined), seq } });
    this.#notifier.publish({
      kind: "queued",
      sessionId: stored.sessionId,
      id: stored.id,
      priority: stored.priority,
      ...(stored.kind === "action" ? { action: stored.action.type } : {}),
    });
    return { ok: true, record: stored };
  }

  async claim(sessionId: string, options: ClaimOptions): Promise<QueuedInterrupt | undefined> {
    const session = this.#sessions.get(sessionId);
    if (!session) return undefined;
    const { now, id } = options;
    const message = session.queued.find(
      (r) => r.expiresAt > now && (id === undefined || r.id === id),
    );
    if (!message) return undefined;
    this.#setQueued(
      session,
      session.queued.filter((r) => r !== message),
    );
    const entry = this.#entries.get(message.id)!;
    entry.state = "claimed";
    entry.claimedBy = options.owner;
    session.counters.inFlight++;
    return message;
  }

  async get(id: string): Promise<StoredInterrupt | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    return {
      message: entry.message,
      state: entry.state,
      ...(entry.outcome === undefined ? {} : { outcome: entry.outcome }),
      ...(entry.claimedBy === undefined ? {} : { claimedBy: entry.claimedBy }),
    };
  }

  /** @internal Whether `settle` would find the message (queued or claimed). */
  settles(id: string): boolean {
    const state = this.#entries.get(id)?.state;
    return state === "queued" || state === "claimed";
  }

  /** @internal Marks a queued or claimed message settled; skips any other. */
  settle(settlement: Settlement, at: number): void {
    const entry = this.#entries.get(settlement.id);
    if (!entry || (entry.state !== "queued" && entry.state !== "claimed")) return;
    const message = entry.message;
    const session = this.#session(message.sessionId);
    if (entry.state === "claimed") {
      session.counters.inFlight--;
    } else {
      this.#setQueued(
        session,
        session.queued.filter((r) => r.id !== message.id),
      );
    }
    const counters = session.counters;
    const decisionMs = Math.max(0, at - message.queuedAt);
    if (settlement.outcome.status === "applied") counters.applied++;
    else counters.refused++;
    counters.totalDecisionMs += decisionMs;
    counters.maxDecisionMs = Math.max(counters.maxDecisionMs, decisionMs);
    entry.state = settlement.outcome.status;
    entry.outcome = deepFreeze(settlement.outcome);
    delete entry.claimedBy;
    this.#notifier.publish({ kind: "settled", sessionId: message.sessionId, id: message.id });
  }

  /** @internal Queues the session's claimed, unsettled messages again (a new lease holder). */
  requeue(sessionId: string): void {
    const session = this.#sessions.get(sessionId);
    if (!session || session.counters.inFlight === 0) return;
    for (const entry of this.#entries.values()) {
      if (entry.state !== "claimed" || entry.message.sessionId !== sessionId) continue;
      entry.state = "queued";
      delete entry.claimedBy;
      session.counters.inFlight--;
      this.#insert(session, entry.message);
    }
  }

  async list(sessionId: string, page?: PageOptions): Promise<Page<QueuedInterrupt>> {
    const { offset, limit } = resolvePage(page);
    const queued = this.#sessions.get(sessionId)?.queued ?? [];
    return { items: queued.slice(offset, offset + limit), total: queued.length };
  }

  async stats(sessionId: string): Promise<InterruptStats> {
    const session = this.#sessions.get(sessionId);
    const counters = session?.counters ?? newCounters();
    return {
      ...counters,
      depth: session?.queued.length ?? 0,
      lastSeq: session === undefined ? 0 : session.nextSeq - 1,
    };
  }

  /** @internal The session's queue depth and last seq, without a promise. */
  peek(sessionId: string): { readonly depth: number; readonly lastSeq: number } {
    const session = this.#sessions.get(sessionId);
    return { depth: session?.queued.length ?? 0, lastSeq: (session?.nextSeq ?? 1) - 1 };
  }

  async remove(removal: InterruptRemoval): Promise<QueuedInterrupt[]> {
    const removed: QueuedInterrupt[] = [];
    if (removal.reason === "expired") {
      const sessions =
        removal.sessionId === undefined
          ? [...this.#sessions.values()]
          : [this.#sessions.get(removal.sessionId)].filter((s) => s !== undefined);
      for (const session of sessions) {
        const expired = session.queued.filter((r) => r.expiresAt <= removal.now);
        if (expired.length === 0) continue;
        this.#setQueued(
          session,
          session.queued.filter((r) => r.expiresAt > removal.now),
        );
        session.counters.expired += expired.length;
        removed.push(...expired);
      }
    } else {
      const session = this.#sessions.get(removal.sessionId);
      if (!session) return [];
      removed.push(...session.queued);
      this.#setQueued(session, []);
      if (removal.reason === "cleared") {
        session.counters.cleared += removed.length;
      } else {
        for (const entry of this.#entries.values()) {
          if (entry.state === "claimed" && entry.message.sessionId === removal.sessionId) {
            removed.unshift(entry.message);
          }
        }
      }
    }
    for (const message of removed) {
      const entry = this.#entries.get(message.id)!;
      entry.state = removal.reason;
      delete entry.claimedBy;
      this.#audit.insert(removalAuditEntry(message, removal));
      this.#notifier.publish({ kind: "settled", sessionId: message.sessionId, id: message.id });
    }
    if (removal.reason === "deleted") this.drop(removal.sessionId);
    return removed;
  }

  /** @internal Forgets the session: its queue, counters, sequence and settled messages. */
  drop(sessionId: string): void {
    const session = this.#sessions.get(sessionId);
    if (session) this.#setQueued(session, []);
    this.#sessions.delete(sessionId);
    for (const [id, entry] of this.#entries) {
      if (entry.message.sessionId === sessionId) this.#entries.delete(id);
    }
  }
}
