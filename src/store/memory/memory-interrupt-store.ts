import { DuplicateInterruptError } from "../../errors.js";
import { deepFreeze, isFrozenJson } from "../../freeze.js";
import type { QueuedInterrupt } from "../../interrupts/interrupt-message.js";
import {
  type EnqueueLimits,
  type EnqueueResult,
  type InterruptRemoval,
  type InterruptStats,
  type InterruptStore,
  type NewInterruptRecord,
  type Page,
  type PageOptions,
  resolvePage,
  type SettleRecord,
} from "../interrupt-store.js";

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

/**
 * Interrupt queues in process memory. Every method runs to completion without awaiting, so
 * concurrent callers in one process see each step as atomic. Stored messages are frozen copies.
 */
export class MemoryInterruptStore implements InterruptStore {
  readonly #sessions = new Map<string, SessionQueue>();
  /** Session of every queued message, by id. */
  readonly #queuedIds = new Map<string, string>();
  /** Claimed, unsettled messages, by id. */
  readonly #inFlight = new Map<string, QueuedInterrupt>();
  /** Sessions with at least one queued message. */
  #activeSessions = 0;

  #session(sessionId: string): SessionQueue {
    let session = this.#sessions.get(sessionId);
    if (!session) {
      session = {
        queued: [],
        nextSeq: 1,
        counters: {
          queued: 0,
          applied: 0,
          refused: 0,
          expired: 0,
          cleared: 0,
          inFlight: 0,
          totalDecisionMs: 0,
          maxDecisionMs: 0,
        },
      };
      this.#sessions.set(sessionId, session);
    }
    return session;
  }

  /** Replaces a session's queue, keeping the id index and the active-session count right. */
  #setQueued(session: SessionQueue, next: QueuedInterrupt[], removed: readonly QueuedInterrupt[]) {
    if (session.queued.length > 0 && next.length === 0) this.#activeSessions--;
    if (session.queued.length === 0 && next.length > 0) this.#activeSessions++;
    for (const record of removed) this.#queuedIds.delete(record.id);
    session.queued = next;
  }

  async enqueue(record: NewInterruptRecord, limits: EnqueueLimits): Promise<EnqueueResult> {
    if (this.#queuedIds.has(record.id) || this.#inFlight.has(record.id)) {
      throw new DuplicateInterruptError(record.id);
    }
    const existing = this.#sessions.get(record.sessionId);
    const depth = existing?.queued.length ?? 0;
    if (depth >= limits.maxQueueSize) return { ok: false, reason: "queue_full", depth };
    if (depth === 0 && this.#activeSessions >= limits.maxSessions) {
      return { ok: false, reason: "too_many_sessions", sessions: this.#activeSessions };
    }
    const session = this.#session(record.sessionId);
    // A deeply frozen record (what the service sends) cannot change, so it is kept as it is;
    // anything else is copied (as JSON, which it is by contract) and frozen.
    const stored: QueuedInterrupt = isFrozenJson(record)
      ? Object.freeze({ ...record, seq: session.nextSeq } as QueuedInterrupt)
      : deepFreeze(
          JSON.parse(JSON.stringify({ ...record, seq: session.nextSeq })) as QueuedInterrupt,
        );
    session.nextSeq++;
    session.counters.queued++;
    // Its seq is the highest, so it goes after every message of the same or a lower priority.
    let index = session.queued.length;
    while (index > 0 && session.queued[index - 1]!.priority > stored.priority) index--;
    const next = [...session.queued];
    next.splice(index, 0, stored);
    this.#setQueued(session, next, []);
    this.#queuedIds.set(stored.id, stored.sessionId);
    return { ok: true, record: stored };
  }

  async claim(sessionId: string, now: number): Promise<QueuedInterrupt | undefined> {
    const session = this.#sessions.get(sessionId);
    if (!session) return undefined;
    const record = session.queued.find((r) => r.expiresAt > now);
    if (!record) return undefined;
    this.#setQueued(
      session,
      session.queued.filter((r) => r !== record),
      [record],
    );
    this.#inFlight.set(record.id, record);
    session.counters.inFlight++;
    return record;
  }

  async settle(id: string, result: SettleRecord): Promise<QueuedInterrupt | undefined> {
    let record = this.#inFlight.get(id);
    let session: SessionQueue | undefined;
    if (record) {
      this.#inFlight.delete(id);
      session = this.#session(record.sessionId);
      session.counters.inFlight--;
    } else {
      const sessionId = this.#queuedIds.get(id);
      session = sessionId === undefined ? undefined : this.#sessions.get(sessionId);
      record = session?.queued.find((r) => r.id === id);
      if (!session || !record) return undefined;
      const found = record;
      this.#setQueued(
        session,
        session.queued.filter((r) => r !== found),
        [found],
      );
    }
    const decisionMs = Math.max(0, result.at - record.queuedAt);
    const counters = session.counters;
    if (result.status === "applied") counters.applied++;
    else counters.refused++;
    counters.totalDecisionMs += decisionMs;
    counters.maxDecisionMs = Math.max(counters.maxDecisionMs, decisionMs);
    return record;
  }

  async list(sessionId: string, page?: PageOptions): Promise<Page<QueuedInterrupt>> {
    const { offset, limit } = resolvePage(page);
    const queued = this.#sessions.get(sessionId)?.queued ?? [];
    return { items: queued.slice(offset, offset + limit), total: queued.length };
  }

  async stats(sessionId: string): Promise<InterruptStats> {
    const session = this.#sessions.get(sessionId);
    const counters = session?.counters;
    return {
      queued: counters?.queued ?? 0,
      applied: counters?.applied ?? 0,
      refused: counters?.refused ?? 0,
      expired: counters?.expired ?? 0,
      cleared: counters?.cleared ?? 0,
      depth: session?.queued.length ?? 0,
      inFlight: counters?.inFlight ?? 0,
      totalDecisionMs: counters?.totalDecisionMs ?? 0,
      maxDecisionMs: counters?.maxDecisionMs ?? 0,
    };
  }

  async remove(removal: InterruptRemoval): Promise<QueuedInterrupt[]> {
    if (removal.reason === "expired") {
      const { now } = removal;
      const removed: QueuedInterrupt[] = [];
      const sessions =
        removal.sessionId === undefined
          ? [...this.#sessions.values()]
          : [this.#sessions.get(removal.sessionId)].filter((s) => s !== undefined);
      for (const session of sessions) {
        const expired = session.queued.filter((r) => r.expiresAt <= now);
        if (expired.length === 0) continue;
        this.#setQueued(
          session,
          session.queued.filter((r) => r.expiresAt > now),
          expired,
        );
        session.counters.expired += expired.length;
        removed.push(...expired);
      }
      return removed;
    }
    const session = this.#sessions.get(removal.sessionId);
    if (!session) return [];
    const removed = session.queued;
    this.#setQueued(session, [], removed);
    if (removal.reason === "cleared") {
      session.counters.cleared += removed.length;
      return removed;
    }
    const claimed = [...this.#inFlight.values()].filter((r) => r.sessionId === removal.sessionId);
    for (const record of claimed) this.#inFlight.delete(record.id);
    this.#sessions.delete(removal.sessionId);
    return [...claimed, ...removed];
  }
}
