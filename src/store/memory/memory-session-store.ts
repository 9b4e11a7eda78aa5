import { SessionBusyError } from "../../errors.js";
import type { CheckpointRecord } from "../checkpoint-store.js";
import { type Page, resolvePage } from "../page.js";
import type {
  Lease,
  LeaseRequest,
  LeaseResult,
  SessionQuery,
  SessionStore,
  SessionSummary,
} from "../session-store.js";
import { gateEffect, sameGate, summaryGate } from "../summary-gate.js";

/** What deleting a session clears in the other parts of the memory store. */
export interface SessionOwned {
  requeue(sessionId: string): void;
  drop(sessionId: string, now: number, actor: string | undefined): void;
}

/** Session leases and inbox summaries in process memory. */
export class MemorySessionStore implements SessionStore {
  readonly #leases = new Map<string, Lease>();
  readonly #summaries = new Map<string, SessionSummary>();
  /**
   * When a nested graph's checkpoint last changed each session's gate: the summary's `updatedAt`
   * is the later of it and its latest own checkpoint's time, as the SQL stores read it.
   */
  readonly #nestedAt = new Map<string, number>();
  /** When each session's latest checkpoint of its own thread was written. */
  readonly #ownAt = new Map<string, number>();
  readonly #owned: SessionOwned;
  readonly #released: (sessionId: string) => void;

  constructor(owned: SessionOwned, released: (sessionId: string) => void) {
    this.#owned = owned;
    this.#released = released;
  }

  async acquire(request: LeaseRequest): Promise<LeaseResult> {
    const held = this.#leases.get(request.sessionId);
    if (held !== undefined && request.now < held.expiresAt) {
      return { ok: false, owner: held.owner, expiresAt: held.expiresAt };
    }
    const lease: Lease = Object.freeze({
      sessionId: request.sessionId,
      owner: request.owner,
      token: request.token,
      expiresAt: request.now + request.ttlMs,
      ttlMs: request.ttlMs,
    });
    this.#leases.set(request.sessionId, lease);
    this.#owned.requeue(request.sessionId);
    return { ok: true, lease };
  }

  async renew(lease: Lease, now: number): Promise<Lease | undefined> {
    return this.extend(lease, now);
  }

  /** @internal Whether `lease` is the session's current lease. */
  holds(lease: Lease): boolean {
    return this.#leases.get(lease.sessionId)?.token === lease.token;
  }

  /** @internal Extends a current lease without a promise; `undefined` when it was lost. */
  extend(lease: Lease, now: number): Lease | undefined {
    if (!this.holds(lease)) return undefined;
    const renewed: Lease = Object.freeze({ ...lease, expiresAt: now + lease.ttlMs });
    this.#leases.set(lease.sessionId, renewed);
    return renewed;
  }

  async release(lease: Lease): Promise<void> {
    if (!this.holds(lease)) return;
    this.#leases.delete(lease.sessionId);
    // What the run claimed and did not settle (it was cancelled while deciding) is queued again.
    this.#owned.requeue(lease.sessionId);
    this.#released(lease.sessionId);
  }

  /**
   * @internal Keeps the summary of a session up to date with a committed checkpoint: one of its
   * own thread sets it (the gate by the rule of `summaryGate`), one of a nested graph's thread
   * may change its gate. Returns whether a nested checkpoint changed the gate.
   */
  record(record: CheckpointRecord): boolean {
    const id = record.sessionId;
    const previous = this.#summaries.get(id);
    if (record.thread !== "") {
      if (previous === undefined || gateEffect(record) !== "nested") return false;
      const gate = summaryGate(previous.gate, record);
      if (sameGate(gate, previous.gate)) return false;
      this.#nestedAt.set(id, record.createdAt);
      const { gate: _old, ...rest } = previous;
      this.#summaries.set(
        id,
        Object.freeze({
          ...rest,
          updatedAt: Math.max(this.#ownAt.get(id) ?? record.createdAt, record.createdAt),
          ...(gate === undefined ? {} : { gate }),
        }),
      );
      return true;
    }
    const gate = summaryGate(previous?.gate, record);
    this.#ownAt.set(id, record.createdAt);
    this.#summaries.set(
      id,
      Object.freeze({
        sessionId: id,
        graph: record.meta.graph ?? previous?.graph ?? "",
        status: record.status,
        checkpointId: record.id,
        createdAt: previous?.createdAt ?? record.createdAt,
        updatedAt: Math.max(record.createdAt, this.#nestedAt.get(id) ?? record.createdAt),
        ...(gate === undefined ? {} : { gate }),
      }),
    );
    return false;
  }

  async get(sessionId: string): Promise<SessionSummary | undefined> {
    return this.#summaries.get(sessionId);
  }

  async list(query: SessionQuery = {}): Promise<Page<SessionSummary>> {
    const { offset, limit } = resolvePage(query);
    const matching = [...this.#summaries.values()]
      .filter(
        (s) =>
          (query.status === undefined || s.status === query.status) &&
          (query.graph === undefined || s.graph === query.graph) &&
          (query.waiting === undefined || s.gate !== undefined),
      )
      .sort((a, b) => b.updatedAt - a.updatedAt || (a.sessionId < b.sessionId ? -1 : 1));
    return { items: matching.slice(offset, offset + limit), total: matching.length };
  }

  async delete(
    sessionId: string,
    options: { readonly now: number; readonly actor?: string },
  ): Promise<void> {
    const held = this.#leases.get(sessionId);
    if (held !== undefined && options.now < held.expiresAt) {
      throw new SessionBusyError(sessionId, held);
    }
    this.#leases.delete(sessionId);
    this.#summaries.delete(sessionId);
    this.#nestedAt.delete(sessionId);
    this.#ownAt.delete(sessionId);
    this.#owned.drop(sessionId, options.now, options.actor);
  }
}
