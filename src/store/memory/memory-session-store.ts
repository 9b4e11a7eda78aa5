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

/** What deleting a session clears in the other parts of the memory store. */
export interface SessionOwned {
  requeue(sessionId: string): void;
  drop(sessionId: string, now: number, actor: string | undefined): void;
}

/** Session leases and inbox summaries in process memory. */
export class MemorySessionStore implements SessionStore {
  readonly #leases = new Map<string, Lease>();
  readonly #summaries = new Map<string, SessionSummary>();
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

  /** @internal Keeps the summary of a session up to date with its own thread's checkpoints. */
  record(record: CheckpointRecord): void {
    if (record.thread !== "") return;
    const previous = this.#summaries.get(record.sessionId);
    this.#summaries.set(
      record.sessionId,
      Object.freeze({
        sessionId: record.sessionId,
        graph: record.meta.graph ?? previous?.graph ?? "",
        status: record.status,
        checkpointId: record.id,
        createdAt: previous?.createdAt ?? record.createdAt,
        updatedAt: record.createdAt,
        ...(record.meta.gate === undefined ? {} : { gate: record.meta.gate }),
      }),
    );
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
    this.#owned.drop(sessionId, options.now, options.actor);
  }
}
