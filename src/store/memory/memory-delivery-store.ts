import {
  checkDeliveryClaim,
  checkDeliveryKeep,
  checkDeliveryOutcome,
  checkNewDeliveries,
  type Delivery,
  type DeliveryClaim,
  type DeliveryOutcome,
  type DeliveryStore,
  type NewDelivery,
} from "../delivery-store.js";
import { type Page, type PageOptions, resolvePage } from "../page.js";

/** A delivery and the claim on it. */
interface Entry {
  delivery: Delivery;
  claimedBy: string | null;
  claimedUntil: number;
}

/** The webhook outbox in process memory, in the order deliveries were added. */
export class MemoryDeliveryStore implements DeliveryStore {
  readonly #entries = new Map<string, Entry>();

  async add(deliveries: readonly NewDelivery[], now: number): Promise<string[]> {
    checkNewDeliveries(deliveries);
    const added: string[] = [];
    for (const d of deliveries) {
      if (this.#entries.has(d.id)) continue;
      const delivery: Delivery = Object.freeze({
        id: d.id,
        url: d.url,
        type: d.type,
        sessionId: d.sessionId,
        checkpointId: d.checkpointId,
        body: d.body,
        status: "pending",
        attempts: 0,
        lastError: null,
        lastStatus: null,
        createdAt: now,
        updatedAt: now,
        dueAt: now,
      });
      this.#entries.set(d.id, { delivery, claimedBy: null, claimedUntil: 0 });
      added.push(d.id);
    }
    return added;
  }

  async claim(claim: DeliveryClaim): Promise<Delivery[]> {
    checkDeliveryClaim(claim);
    const urls = new Set(claim.urls);
    const due = [...this.#entries.values()]
      .filter(
        (e) =>
          e.delivery.status === "pending" &&
          urls.has(e.delivery.url) &&
          e.delivery.dueAt! <= claim.now &&
          (e.claimedBy === null || e.claimedUntil <= claim.now),
      )
      .sort((a, b) => a.delivery.dueAt! - b.delivery.dueAt!)
      .slice(0, claim.limit);
    for (const e of due) {
      e.claimedBy = claim.owner;
      e.claimedUntil = claim.until;
    }
    return due.map((e) => e.delivery);
  }

  async record(id: string, owner: string, outcome: DeliveryOutcome): Promise<boolean> {
    checkDeliveryOutcome(outcome);
    const e = this.#entries.get(id);
    if (e === undefined || e.claimedBy !== owner || e.delivery.status !== "pending") return false;
    e.delivery = Object.freeze({
      ...e.delivery,
      status: outcome.status,
      attempts: outcome.attempts,
      lastError: outcome.lastError,
      lastStatus: outcome.lastStatus,
      updatedAt: outcome.now,
      dueAt: outcome.status === "pending" ? outcome.dueAt : null,
    });
    e.claimedBy = null;
    e.claimedUntil = 0;
    return true;
  }

  async nextDue(urls: readonly string[]): Promise<number | undefined> {
    const wanted = new Set(urls);
    let next: number | undefined;
    for (const e of this.#entries.values()) {
      if (e.delivery.status !== "pending" || !wanted.has(e.delivery.url)) continue;
      const at = Math.max(e.delivery.dueAt!, e.claimedBy === null ? 0 : e.claimedUntil);
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  async list(page?: PageOptions): Promise<Page<Delivery>> {
    const { offset, limit } = resolvePage(page);
    const all = [...this.#entries.values()].reverse();
    return { items: all.slice(offset, offset + limit).map((e) => e.delivery), total: all.length };
  }

  async prune(options: { readonly keep: number }): Promise<number> {
    const keep = checkDeliveryKeep(options.keep);
    const finished = [...this.#entries.values()].filter((e) => e.delivery.status !== "pending");
    const gone = finished.slice(0, Math.max(0, finished.length - keep));
    for (const e of gone) this.#entries.delete(e.delivery.id);
    return gone.length;
  }

  /** @internal Deletes a session's deliveries, with the session. */
  drop(sessionId: string): void {
    for (const [id, e] of this.#entries) {
      if (e.delivery.sessionId === sessionId) this.#entries.delete(id);
    }
  }
}
