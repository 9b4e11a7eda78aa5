import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type CancelTimer, later } from "../clock.js";
import type { Logger } from "../logger.js";
import type { Delivery, NewDelivery } from "../store/delivery-store.js";
import type { StoreEvent } from "../store/notifier.js";
import type { Page, PageOptions } from "../store/page.js";
import type { Store } from "../store/store.js";
import { checkpointEvents, type WebhookEvent, waitingEvent } from "./webhook-events.js";
import type { WebhookEndpoint, WebhookOptions } from "./webhook-options.js";
import { signWebhook } from "./webhook-signature.js";

export { type WebhookEventType, webhookEventsOf } from "./webhook-events.js";
export {
  resolveWebhookOptions,
  type WebhookEndpoint,
  type WebhookOptions,
} from "./webhook-options.js";

/** How many sessions waiting for approval the catch-up reads per query. */
const CATCH_UP_PAGE = 100;
/**
 * How long a claim outlasts its attempt's `timeoutMs`: time to store the outcome. A sender that
 * stopped mid-attempt leaves its claim; another sender may try the delivery once it runs out.
 */
const CLAIM_MARGIN_MS = 5_000;
/**
 * The longest a sender goes without looking for due deliveries, so it sends those that a
 * sender which stopped left claimed or pending, even when nothing else wakes it.
 */
const SWEEP_MS = 30_000;
/** The shortest wait before looking again, so a delivery due right now cannot spin the loop. */
const MIN_WAIT_MS = 10;
/** How often finished deliveries past `keep` are deleted. */
const PRUNE_EVERY_MS = 60_000;

/** The id of the delivery of `event` to `url`: the same in every process and on every attempt. */
function deliveryId(url: string, event: WebhookEvent): string {
  const { type, sessionId } = event.payload;
  return createHash("sha256")
    .update(`${url}\n${sessionId}\n${event.subject}\n${type}`)
    .digest("hex")
    .slice(0, 32);
}

/**
 * Sends signed JSON POSTs to webhook endpoints when a session pauses, needs approval, is
 * decided, completes, fails, is rejected or cancelled. It listens to the store's notifier, so
 * runs of any process are seen; a run never waits for a delivery. A session needs approval
 * whenever it waits at a gate: suspended there, waiting in process at a timed gate, or at a
 * gate inside a nested graph (which the session summary shows).
 *
 * Deliveries go through the store's outbox (`store.deliveries`): the sender adds each one when
 * it hears of the event, then claims the due ones, attempts them and records each outcome. So
 * a delivery outlives the server that added it (another server on the store, or this one after
 * a restart, sends what is left), and servers that all hear of an event send it once between
 * them. A delivery's id (`Trellis-Delivery`) is derived from the endpoint, session, event type
 * and the checkpoint (for `approval.requested`, the request: one delivery per request), so it
 * is the same on every attempt and in every process. Each delivery is retried with exponential
 * backoff up to `maxAttempts`, each attempt bounded by `timeoutMs`. Delivery is at least once:
 * an attempt cut short by a stop may have reached its receiver and is made again.
 */
export class WebhookSender {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #options: Required<WebhookOptions>;
  readonly #endpoints: ReadonlyMap<string, WebhookEndpoint>;
  readonly #urls: readonly string[];
  /** Tells this sender's claims from those of every other sender on the store. */
  readonly #owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  readonly #inFlight = new Set<AbortController>();
  /** Every promise of this sender's own work, so `close` can wait for it. */
  readonly #work = new Set<Promise<void>>();
  #running = 0;
  #pumping = false;
  #again = false;
  #wake: CancelTimer | undefined;
  #prunedAt = 0;
  #stop: (() => void) | undefined;
  #closed = false;

  constructor(store: Store, options: Required<WebhookOptions>, logger: Logger) {
    this.#store = store;
    this.#options = options;
    this.#logger = logger;
    this.#endpoints = new Map(options.endpoints.map((e) => [e.url, e]));
    this.#urls = [...this.#endpoints.keys()];
  }

  /**
   * Starts listening (nothing happens without endpoints), sends what the outbox holds for the
   * endpoints, then asks for approval again where sessions wait (see
   * {@link WebhookOptions.catchUp}).
   */
  start(): void {
    if (this.#urls.length === 0 || this.#stop !== undefined || this.#closed) return;
    // Listening first: a gate that opens while the inbox is read is heard of either way.
    this.#stop = this.#store.notifier.subscribe(null, (event) => this.#onEvent(event));
    this.#kick();
    this.#track(
      this.#catchUp().catch((error: unknown) =>
        this.#warn("Webhooks could not read the sessions waiting for approval", error),
      ),
    );
  }

  /** The outbox's deliveries, newest first, one page at a time. */
  list(page?: PageOptions): Promise<Page<Delivery>> {
    return this.#store.deliveries.list(page);
  }

  /**
   * Stops listening, abandons attempts under way (their claims run out, and another sender, or
   * this server after a restart, attempts them again) and waits for the sender's own work to
   * end. The store stays open.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stop?.();
    this.#wake?.();
    for (const controller of this.#inFlight) controller.abort();
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }

  #track(work: Promise<void>): void {
    this.#work.add(work);
    void work.finally(() => this.#work.delete(work));
  }

  #warn(message: string, error: unknown, fields: Record<string, string | number> = {}): void {
    this.#logger.warn(message, {
      ...fields,
      error: error instanceof Error ? error.message : String(error),
    });
  }

  #onEvent(event: StoreEvent): void {
    if (event.kind !== "checkpoint" || this.#closed) return;
    this.#track(
      checkpointEvents(this.#store, event).then(
        (events) => this.#add(events),
        (error: unknown) =>
          this.#warn("A webhook could not read the checkpoint it was told of", error, {
            sessionId: event.sessionId,
          }),
      ),
    );
  }

  /**
   * Sends `approval.requested` for the sessions waiting for approval now, newest first, up to
   * `catchUp` of them: their gates may have opened while no server listened (a run of the
   * CLI). A request the outbox holds already is not added again.
   */
  async #catchUp(): Promise<void> {
    const total = this.#options.catchUp;
    for (let offset = 0; offset < total && !this.#closed; offset += CATCH_UP_PAGE) {
      const limit = Math.min(CATCH_UP_PAGE, total - offset);
      const page = await this.#store.sessions.list({ waiting: "approval", offset, limit });
      const events: WebhookEvent[] = [];
      for (const summary of page.items) {
        const event = await waitingEvent(this.#store, summary);
        if (event !== undefined) events.push(event);
      }
      await this.#add(events);
      if (page.items.length < limit) return;
    }
  }

  /** Adds the deliveries of `events` to every endpoint to the outbox, then sends what is due. */
  async #add(events: readonly WebhookEvent[]): Promise<void> {
    if (this.#closed || events.length === 0) return;
    const deliveries: NewDelivery[] = [];
    for (const event of events) {
      const { type, sessionId, checkpointId } = event.payload;
      for (const url of this.#urls) {
        const id = deliveryId(url, event);
        const body = JSON.stringify({ id, ...event.payload });
        deliveries.push({ id, url, type, sessionId, checkpointId, body });
      }
    }
    try {
      const added = await this.#store.deliveries.add(deliveries, Date.now());
      if (added.length > 0) this.#kick();
    } catch (error) {
      this.#warn("Webhook deliveries could not be stored", error, {
        sessionId: events[0]!.payload.sessionId,
      });
    }
  }

  /**
   * Claims and attempts due deliveries while there are free attempts, then sleeps until the
   * next one is due (at most {@link SWEEP_MS}). One pass runs at a time; a kick during it
   * makes it look again.
   */
  #kick(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    this.#wake?.();
    this.#wake = undefined;
    this.#track(
      this.#pump()
        .catch((error: unknown) => {
          this.#warn("Webhooks could not read the outbox", error);
          this.#sleep(this.#options.backoffMs);
        })
        .finally(() => {
          this.#pumping = false;
          if (this.#again) {
            this.#again = false;
            this.#kick();
          }
        }),
    );
  }

  async #pump(): Promise<void> {
    const { concurrency, timeoutMs, keep } = this.#options;
    for (;;) {
      this.#again = false;
      const free = concurrency - this.#running;
      if (free <= 0) return; // each attempt that ends kicks again
      const now = Date.now();
      const due = await this.#store.deliveries.claim({
        owner: this.#owner,
        urls: this.#urls,
        limit: free,
        now,
        until: now + timeoutMs + CLAIM_MARGIN_MS,
      });
      if (this.#closed) return; // claimed, not attempted: the claims run out
      for (const delivery of due) this.#attempt(delivery);
      if (due.length < free && !this.#again) break;
    }
    if (Date.now() - this.#prunedAt >= PRUNE_EVERY_MS) {
      this.#prunedAt = Date.now();
      await this.#store.deliveries.prune({ keep });
    }
    const next = await this.#store.deliveries.nextDue(this.#urls);
    this.#sleep(next === undefined ? SWEEP_MS : next - Date.now());
  }

  #sleep(ms: number): void {
    if (this.#closed) return;
    this.#wake?.();
    this.#wake = later(Math.min(Math.max(ms, MIN_WAIT_MS), SWEEP_MS), () => {
      this.#wake = undefined;
      this.#kick();
    });
  }

  #attempt(delivery: Delivery): void {
    this.#running++;
    this.#track(
      this.#send(delivery)
        .catch((error: unknown) =>
          this.#warn("A webhook attempt could not be recorded", error, { id: delivery.id }),
        )
        .finally(() => {
          this.#running--;
          this.#kick();
        }),
    );
  }

  /** One attempt of a claimed delivery, and its outcome stored (unless the sender stopped). */
  async #send(delivery: Delivery): Promise<void> {
    const endpoint = this.#endpoints.get(delivery.url)!;
    const { maxAttempts, backoffMs, maxBackoffMs, timeoutMs } = this.#options;
    const attempts = delivery.attempts + 1;
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const cancelTimeout = later(timeoutMs, () => controller.abort());
    let lastStatus: number | null = delivery.lastStatus;
    let lastError: string | null = null;
    try {
      const response = await fetch(endpoint.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "trellis-webhooks",
          "trellis-delivery": delivery.id,
          "trellis-event": delivery.type,
          "trellis-signature": signWebhook(
            endpoint.secret,
            delivery.body,
            Math.floor(Date.now() / 1000),
          ),
        },
        body: delivery.body,
        signal: controller.signal,
        redirect: "manual",
      });
      await response.body?.cancel().catch(() => {});
      lastStatus = response.status;
      if (!response.ok) lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = controller.signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : error instanceof Error
          ? error.cause instanceof Error
            ? error.cause.message
            : error.message
          : String(error);
    } finally {
      cancelTimeout();
      this.#inFlight.delete(controller);
    }
    // Cut short by `close` (an answer that came is recorded): the attempt is made again once
    // its claim runs out.
    if (this.#closed && controller.signal.aborted) return;
    const now = Date.now();
    const status =
      lastError === null ? "delivered" : attempts >= maxAttempts ? "failed" : "pending";
    const recorded = await this.#store.deliveries.record(delivery.id, this.#owner, {
      status,
      attempts,
      lastError,
      lastStatus,
      dueAt:
        status === "pending" ? now + Math.min(backoffMs * 2 ** (attempts - 1), maxBackoffMs) : null,
      now,
    });
    if (recorded && status === "failed") {
      this.#logger.warn("A webhook delivery failed", {
        id: delivery.id,
        url: delivery.url,
        attempts,
        error: lastError ?? "",
      });
    }
  }
}
