import { createHash } from "node:crypto";
import { z } from "zod";
import { type CancelTimer, later } from "../clock.js";
import { InvalidOptionError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { GateDecisionMeta, GateMeta, OutcomeMeta } from "../store/checkpoint-meta.js";
import type { StoredRecord } from "../store/checkpoint-store.js";
import type { StoreEvent } from "../store/notifier.js";
import type { SessionSummary } from "../store/session-store.js";
import type { Store } from "../store/store.js";
import { signWebhook } from "./webhook-signature.js";

/** Where deliveries go, and the secret their signature is made with. */
export interface WebhookEndpoint {
  readonly url: string;
  readonly secret: string;
}

/** Webhook endpoints and how deliveries are retried. */
export interface WebhookOptions {
  readonly endpoints: readonly WebhookEndpoint[];
  /** Attempts per delivery, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** Wait before the second attempt, doubled before each further one, in ms. Default 1000. */
  readonly backoffMs?: number;
  /** Longest wait between attempts, in ms. Default 60 000. */
  readonly maxBackoffMs?: number;
  /** How long one attempt may take before it is abandoned, in ms. Default 10 000. */
  readonly timeoutMs?: number;
  /** How many deliveries `/api/deliveries` remembers (the newest). Default 1000. */
  readonly keep?: number;
  /**
   * How many sessions waiting for approval a starting sender asks for again (newest first),
   * for gates that opened while no server listened. Default 100; 0 asks for none.
   */
  readonly catchUp?: number;
}

/** What a delivery tells: the session paused, needs approval, was decided, ended. */
export type WebhookEventType =
  | "session.paused"
  | "approval.requested"
  | "approval.decided"
  | "session.completed"
  | "session.failed"
  | "session.rejected"
  | "session.cancelled";

/** One delivery as `/api/deliveries` shows it. */
export interface Delivery {
  /** Sent as `Trellis-Delivery`; the same on every attempt, and for the same event on every server. */
  readonly id: string;
  readonly url: string;
  readonly type: WebhookEventType;
  readonly sessionId: string;
  readonly checkpointId: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastError: string | null;
  lastStatus: number | null;
  readonly createdAt: number;
  updatedAt: number;
}

const OptionsSchema = z
  .object({
    endpoints: z.array(
      z
        .object({
          url: z.url({ protocol: /^https?$/ }),
          secret: z.string().min(16, "a secret needs at least 16 characters"),
        })
        .strict(),
    ),
    maxAttempts: z.number().int().min(1).max(20).optional(),
    backoffMs: z.number().int().min(1).max(3_600_000).optional(),
    maxBackoffMs: z.number().int().min(1).max(86_400_000).optional(),
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
    keep: z.number().int().min(1).max(100_000).optional(),
    catchUp: z.number().int().min(0).max(100_000).optional(),
  })
  .strict();

/** Checks webhook options (an array is just the endpoints) and fills the defaults. */
export function resolveWebhookOptions(value: unknown): Required<WebhookOptions> {
  const given = Array.isArray(value) ? { endpoints: value } : (value ?? { endpoints: [] });
  const parsed = OptionsSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidOptionError(
      `webhooks.${issue.path.map(String).join(".")}`,
      `${issue.message}: webhooks are [{ url: "https://…", secret }] or { endpoints, maxAttempts, backoffMs, maxBackoffMs, timeoutMs, keep, catchUp }`,
      issue.path.at(-1) === "secret" ? "(not shown)" : undefined,
    );
  }
  return {
    maxAttempts: 5,
    backoffMs: 1000,
    maxBackoffMs: 60_000,
    timeoutMs: 10_000,
    keep: 1000,
    catchUp: 100,
    ...Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)),
    endpoints: parsed.data.endpoints,
  } as Required<WebhookOptions>;
}

/**
 * Whether a run is waiting for a reviewer at `gate`, told from its status: suspended there
 * (`paused`), or waiting in process (`running`) at a timed gate. A gate without a timeout is
 * not waited at in process: the run suspends at it right after it opens (or takes a decision
 * queued before), and is waiting once that suspension is stored.
 */
function waitsAt(status: StoredRecord["status"], gate: GateMeta | undefined): gate is GateMeta {
  return (
    gate !== undefined &&
    (status === "paused" || (status === "running" && gate.deadline !== undefined))
  );
}

/**
 * The events a checkpoint of a session's own thread stands for. One whose run waits at its
 * gate (see `waitsAt`) stands for `approval.requested`; the sender delivers that once per
 * request, whichever such checkpoint it sees first.
 */
export function webhookEventsOf(record: StoredRecord): WebhookEventType[] {
  if (record.kind === "unparsable") return [];
  const types: WebhookEventType[] = [];
  if (record.meta.decision !== undefined) types.push("approval.decided");
  switch (record.status) {
    case "paused":
      types.push(record.meta.gate === undefined ? "session.paused" : "approval.requested");
      break;
    case "running":
      if (waitsAt(record.status, record.meta.gate)) types.push("approval.requested");
      break;
    case "completed":
    case "failed":
    case "rejected":
    case "cancelled":
      types.push(`session.${record.status}`);
      break;
    default:
      break;
  }
  return types;
}

/** What a delivery's body says besides its id. */
interface WebhookPayload {
  readonly type: WebhookEventType;
  readonly sessionId: string;
  readonly checkpointId: string;
  readonly status: StoredRecord["status"];
  readonly node: string | null;
  readonly at: number;
  readonly graph?: string;
  readonly gate?: {
    readonly requestId: string;
    readonly node: string;
    readonly revision: number;
    readonly deadline?: number;
  };
  readonly decision?: GateDecisionMeta;
  readonly outcome?: OutcomeMeta;
}

/**
 * One event to deliver to every endpoint. `subject` is what tells it from the session's other
 * events of its type, and with the endpoint, session and type makes the delivery id: the
 * approval request for `approval.requested` (one delivery per request, whichever checkpoint
 * shows it) and for `approval.decided` (a request is decided once, in the session's own thread
 * or a nested graph's), the checkpoint for every other type.
 */
interface WebhookEvent {
  readonly subject: string;
  readonly payload: WebhookPayload;
}

/** The gate as a delivery names it. */
function gatePayload(gate: GateMeta): NonNullable<WebhookPayload["gate"]> {
  return {
    requestId: gate.requestId,
    node: gate.node,
    revision: gate.revision,
    ...(gate.deadline === undefined ? {} : { deadline: gate.deadline }),
  };
}

/** The event of `type` a checkpoint of the session's own thread stands for. */
function recordEvent(type: WebhookEventType, record: StoredRecord): WebhookEvent {
  const meta = record.kind === "unparsable" ? undefined : record.meta;
  const gate = meta?.gate;
  return {
    subject:
      type === "approval.requested" && gate !== undefined
        ? `request:${gate.requestId}`
        : type === "approval.decided" && meta?.decision !== undefined
          ? `decision:${meta.decision.requestId}`
          : record.id,
    payload: {
      type,
      sessionId: record.sessionId,
      checkpointId: record.id,
      status: record.status,
      node: record.node,
      at: record.createdAt,
      ...(meta?.graph === undefined ? {} : { graph: meta.graph }),
      ...(gate === undefined ? {} : { gate: gatePayload(gate) }),
      ...(meta?.decision === undefined ? {} : { decision: meta.decision }),
      ...(meta?.outcome === undefined ? {} : { outcome: meta.outcome }),
    },
  };
}

/**
 * The `approval.requested` of the gate a session summary holds, for a gate a nested graph
 * opened: its checkpoints are in a thread of their own, so the delivery carries, as the inbox
 * shows, the status, checkpoint and graph of the session's own run, and for `node` and `at` the
 * gated node's path and when the request was made.
 */
function summaryGateEvent(summary: SessionSummary, gate: GateMeta): WebhookEvent {
  return {
    subject: `request:${gate.requestId}`,
    payload: {
      type: "approval.requested",
      ...asTheInboxShows(summary),
      node: gate.node,
      at: gate.openedAt,
      gate: gatePayload(gate),
    },
  };
}

/** What a delivery about a nested gate says of the session: its own run's, from the summary. */
function asTheInboxShows(summary: SessionSummary) {
  return {
    sessionId: summary.sessionId,
    checkpointId: summary.checkpointId,
    status: summary.status,
    graph: summary.graph,
  };
}

/**
 * The `approval.decided` of a gate inside a nested graph, told by the checkpoint of the nested
 * thread that records the decision. As for its request, the delivery carries the status,
 * checkpoint and graph of the session's own run as the inbox shows them, the gated node's path
 * for `node`, and when the decision was stored for `at`.
 */
function nestedDecisionEvent(
  summary: SessionSummary,
  record: StoredRecord,
  decision: GateDecisionMeta,
): WebhookEvent {
  return {
    subject: `decision:${decision.requestId}`,
    payload: {
      type: "approval.decided",
      ...asTheInboxShows(summary),
      node: decision.node,
      at: record.createdAt,
      decision,
    },
  };
}

/** How many sessions waiting for approval the catch-up reads per query. */
const CATCH_UP_PAGE = 100;

const sleep = (ms: number, timers: Set<CancelTimer>) =>
  new Promise<void>((resolve) => {
    const cancel = later(ms, () => {
      timers.delete(cancel);
      resolve();
    });
    timers.add(cancel);
  });

/**
 * Sends signed JSON POSTs to webhook endpoints when a session pauses, needs approval, is
 * decided, completes, fails, is rejected or cancelled. It listens to the store's notifier, so
 * runs of any process are seen; a run never waits for a delivery. A session needs approval
 * whenever it waits at a gate: suspended there, waiting in process at a timed gate, or at a
 * gate inside a nested graph (which the session summary shows). Each delivery is retried with
 * exponential backoff up to `maxAttempts`, each attempt bounded by `timeoutMs`; its id
 * (`Trellis-Delivery`) is derived from the endpoint, session, event type and the checkpoint
 * (for `approval.requested`, the request: one delivery per request), so it is the same on every
 * retry and on every server that sends it, and receivers can drop repeats.
 */
export class WebhookSender {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #options: Required<WebhookOptions>;
  readonly #deliveries = new Map<string, Delivery>();
  readonly #timers = new Set<CancelTimer>();
  readonly #inFlight = new Set<AbortController>();
  #stop: (() => void) | undefined;
  #closed = false;

  constructor(store: Store, options: Required<WebhookOptions>, logger: Logger) {
    this.#store = store;
    this.#options = options;
    this.#logger = logger;
  }

  /**
   * Starts listening (nothing happens without endpoints), then asks for approval again where
   * sessions wait (see {@link WebhookOptions.catchUp}).
   */
  start(): void {
    if (this.#options.endpoints.length === 0 || this.#stop !== undefined) return;
    // Listening first: a gate that opens while the inbox is read is heard of either way.
    this.#stop = this.#store.notifier.subscribe(null, (event) => this.#onEvent(event));
    void this.#catchUp().catch((error: unknown) =>
      this.#logger.warn("Webhooks could not read the sessions waiting for approval", {
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }

  /** The remembered deliveries, newest first. */
  list(): Delivery[] {
    return [...this.#deliveries.values()].reverse().map((d) => ({ ...d }));
  }

  /** Stops listening and abandons retries and attempts under way. */
  close(): void {
    this.#closed = true;
    this.#stop?.();
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
    for (const controller of this.#inFlight) controller.abort();
  }

  #onEvent(event: StoreEvent): void {
    if (event.kind !== "checkpoint") return;
    void this.#eventsOf(event).then(
      (events) => {
        if (this.#closed) return;
        for (const e of events) {
          for (const endpoint of this.#options.endpoints) this.#enqueue(endpoint, e);
        }
      },
      (error: unknown) =>
        this.#logger.warn("A webhook could not read the checkpoint it was told of", {
          sessionId: event.sessionId,
          error: error instanceof Error ? error.message : String(error),
        }),
    );
  }

  /**
   * What a checkpoint event stands for. A checkpoint of the session's own thread says it
   * itself. Any other is one of a nested graph's threads that changed the summary's gate: it
   * stands for `approval.decided` when it records the decision of that gate, and when its run
   * goes on or suspends (`running`, `paused`) it may have opened one, which the summary, read
   * only then, names as the gate open now, whichever thread opened it. A nested gate without a
   * timeout suspends the whole run, whose own paused checkpoint then carries it.
   */
  async #eventsOf(
    event: Extract<StoreEvent, { kind: "checkpoint" }>,
  ): Promise<readonly WebhookEvent[]> {
    const record = await this.#store.checkpoints.get(event.sessionId, event.thread, event.id);
    if (event.thread === "") {
      return record === undefined ? [] : webhookEventsOf(record).map((t) => recordEvent(t, record));
    }
    const decision = record?.kind === "unparsable" ? undefined : record?.meta.decision;
    const opens = event.status === "running" || event.status === "paused";
    if (decision === undefined && !opens) return [];
    const summary = await this.#store.sessions.get(event.sessionId);
    if (summary === undefined) return [];
    const events: WebhookEvent[] = [];
    if (record !== undefined && decision !== undefined) {
      events.push(nestedDecisionEvent(summary, record, decision));
    }
    const gate = summary.gate;
    if (opens && waitsAt(summary.status, gate)) events.push(summaryGateEvent(summary, gate));
    return events;
  }

  /**
   * Sends `approval.requested` for the sessions waiting for approval now, newest first, up to
   * `catchUp` of them. Their gates may have opened while no server listened (a run of the
   * CLI), or their delivery may have been under way in a server that stopped: the sender
   * remembers its deliveries in memory only. A request delivered before is delivered again,
   * with the same `Trellis-Delivery`, which receivers drop.
   */
  async #catchUp(): Promise<void> {
    const total = this.#options.catchUp;
    for (let offset = 0; offset < total && !this.#closed; offset += CATCH_UP_PAGE) {
      const limit = Math.min(CATCH_UP_PAGE, total - offset);
      const page = await this.#store.sessions.list({ waiting: "approval", offset, limit });
      for (const summary of page.items) {
        const event = await this.#waitingEvent(summary);
        if (this.#closed) return;
        if (event === undefined) continue;
        for (const endpoint of this.#options.endpoints) this.#enqueue(endpoint, event);
      }
      if (page.items.length < limit) return;
    }
  }

  /**
   * The `approval.requested` of the gate `summary` waits at, as it was sent when the gate
   * opened: from the session's checkpoint for a gate of its own graph, from the summary for
   * one inside a nested graph.
   */
  async #waitingEvent(summary: SessionSummary): Promise<WebhookEvent | undefined> {
    const gate = summary.gate;
    if (!waitsAt(summary.status, gate)) return undefined;
    const record = await this.#store.checkpoints.get(summary.sessionId, "", summary.checkpointId);
    const own =
      record !== undefined &&
      record.kind !== "unparsable" &&
      record.meta.gate?.requestId === gate.requestId &&
      webhookEventsOf(record).includes("approval.requested");
    return own ? recordEvent("approval.requested", record) : summaryGateEvent(summary, gate);
  }

  #enqueue(endpoint: WebhookEndpoint, event: WebhookEvent): void {
    const { type, sessionId, checkpointId } = event.payload;
    const id = createHash("sha256")
      .update(`${endpoint.url}\n${sessionId}\n${event.subject}\n${type}`)
      .digest("hex")
      .slice(0, 32);
    if (this.#deliveries.has(id)) return;
    const now = Date.now();
    const delivery: Delivery = {
      id,
      url: endpoint.url,
      type,
      sessionId,
      checkpointId,
      status: "pending",
      attempts: 0,
      lastError: null,
      lastStatus: null,
      createdAt: now,
      updatedAt: now,
    };
    this.#deliveries.set(id, delivery);
    while (this.#deliveries.size > this.#options.keep) {
      const oldest = this.#deliveries.keys().next().value as string;
      this.#deliveries.delete(oldest);
    }
    const body = JSON.stringify({ id, ...event.payload });
    void this.#deliver(endpoint, delivery, body);
  }

  async #deliver(endpoint: WebhookEndpoint, delivery: Delivery, body: string): Promise<void> {
    const { maxAttempts, backoffMs, maxBackoffMs, timeoutMs } = this.#options;
    while (!this.#closed && delivery.attempts < maxAttempts) {
      if (delivery.attempts > 0) {
        await sleep(Math.min(backoffMs * 2 ** (delivery.attempts - 1), maxBackoffMs), this.#timers);
        if (this.#closed) return;
      }
      delivery.attempts++;
      const controller = new AbortController();
      this.#inFlight.add(controller);
      const cancelTimeout = later(timeoutMs, () => controller.abort());
      try {
        const response = await fetch(endpoint.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "trellis-webhooks",
            "trellis-delivery": delivery.id,
            "trellis-event": delivery.type,
            "trellis-signature": signWebhook(endpoint.secret, body, Math.floor(Date.now() / 1000)),
          },
          body,
          signal: controller.signal,
          redirect: "manual",
        });
        await response.body?.cancel().catch(() => {});
        delivery.lastStatus = response.status;
        if (response.ok) {
          delivery.status = "delivered";
          delivery.lastError = null;
          delivery.updatedAt = Date.now();
          return;
        }
        delivery.lastError = `HTTP ${response.status}`;
      } catch (error) {
        delivery.lastError = controller.signal.aborted
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
      delivery.updatedAt = Date.now();
    }
    if (delivery.status === "pending") {
      delivery.status = "failed";
      this.#logger.warn("A webhook delivery failed", {
        id: delivery.id,
        url: delivery.url,
        attempts: delivery.attempts,
        error: delivery.lastError ?? "",
      });
    }
  }
}
