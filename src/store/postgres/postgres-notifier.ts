import type * as Pg from "pg";
import { type CancelTimer, later } from "../../clock.js";
import type { Logger } from "../../logger.js";
import { MemoryNotifier } from "../memory/memory-notifier.js";
import type { Notifier, StoreEvent, StoreListener } from "../notifier.js";
import { quoteIdent } from "./identifier.js";
import type { PgDriver } from "./load-pg.js";
import { toStoreError } from "./store-errors.js";

const KINDS = new Set(["queued", "settled", "checkpoint", "released"]);
const FIRST_RETRY_MS = 50;
const LAST_RETRY_MS = 5_000;
const HEARTBEAT_MS = 15_000;

function toEvent(payload: string | undefined): StoreEvent | undefined {
  if (payload === undefined) return undefined;
  try {
    const event = JSON.parse(payload) as Partial<StoreEvent> | null;
    if (event && KINDS.has(event.kind as string) && typeof event.sessionId === "string") {
      // A checkpoint event of an older build names no thread: it was of the session's own.
      if (event.kind === "checkpoint" && typeof event.thread !== "string") {
        return { ...event, thread: "" } as StoreEvent;
      }
      return event as StoreEvent;
    }
  } catch {
    // Not one of ours; ignored below.
  }
  return undefined;
}

/**
 * The notifier of the PostgreSQL store: one dedicated connection per store runs `LISTEN` on
 * the schema's channel, and every change is announced with `pg_notify` inside the transaction
 * that makes it, so an event is sent only when the change commits, to every process of the
 * database, in commit order. The payload is the {@link StoreEvent} as JSON.
 *
 * The events of this store's own writes reach its listeners without the round trip: the store
 * {@link publish}es them right after the write commits (all of them, also the running steps'
 * checkpoints that it does not `NOTIFY`), and the listening connection skips the notifications
 * sent by the store's own pool connections, whose backend pids it is told of. So each event
 * reaches a listener once, and the events of one run's writes in the order they committed.
 * Other stores, in other processes or in this one, hear them through `LISTEN`.
 *
 * When the connection drops, it reconnects with backoff (50 ms doubling to 5 s). Events sent
 * while it was down are not delivered: they are hints, and the store is the truth. Subscribers
 * re-read the store after they subscribe and on each event (and on their own timeouts), so a
 * missed event delays a wake-up; it loses no data.
 */
export class PostgresNotifier implements Notifier {
  readonly #driver: PgDriver;
  readonly #config: Pg.ClientConfig;
  readonly #channel: string;
  readonly #logger: Logger;
  readonly #fanOut: MemoryNotifier;
  readonly #onReconnect: (oldPid: number | null, newPid: number) => Promise<void>;
  /** The backend pids of the store's pool connections: their events are {@link publish}ed. */
  readonly #own = new Set<number>();
  #client: Pg.Client | undefined;
  /** The pid of the last listening connection, kept across a drop to move leases over. */
  #pid: number | null = null;
  #up = false;
  #closed = false;
  #retryMs = FIRST_RETRY_MS;
  #retry: CancelTimer | undefined;
  #heartbeat: CancelTimer | undefined;

  constructor(options: {
    readonly driver: PgDriver;
    readonly config: Pg.ClientConfig;
    readonly channel: string;
    readonly logger: Logger;
    /** Called after a reconnect, so leases held under the old pid follow the new one. */
    readonly onReconnect: (oldPid: number | null, newPid: number) => Promise<void>;
  }) {
    this.#driver = options.driver;
    this.#config = options.config;
    this.#channel = options.channel;
    this.#logger = options.logger;
    this.#fanOut = new MemoryNotifier(options.logger);
    this.#onReconnect = options.onReconnect;
  }

  /** The backend pid of the listening connection; `null` while it is down. */
  get pid(): number | null {
    return this.#up ? this.#pid : null;
  }

  subscribe(sessionId: string | null, listener: StoreListener): () => void {
    return this.#fanOut.subscribe(sessionId, listener);
  }

  /**
   * Tells this store's listeners of events its own write committed, in their order. Call it
   * after the write succeeded, never when it failed or rolled back.
   */
  publish(events: readonly StoreEvent[]): void {
    for (const event of events) this.#fanOut.publish(event);
  }

  /**
   * Notes a connection of the store's pool by its backend pid: what it notifies, the store
   * {@link publish}es itself, so the listening connection skips it.
   */
  addOwnConnection(pid: number | null | undefined): void {
    if (typeof pid === "number") this.#own.add(pid);
  }

  /** Forgets a connection the pool closed (its pid may be reused by another backend). */
  removeOwnConnection(pid: number | null | undefined): void {
    if (typeof pid === "number") this.#own.delete(pid);
  }

  /** Opens the listening connection; rejects (with a store error) when it cannot. */
  async start(): Promise<void> {
    try {
      await this.#connect();
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async #connect(): Promise<void> {
    const client = new this.#driver.Client(this.#config);
    client.on("error", (error) => this.#lost(client, error));
    client.on("end", () => this.#lost(client, undefined));
    client.on("notification", (message) => {
      if (message.channel !== this.#channel) return;
      // This store's own writes were published when they committed.
      if (this.#own.has(message.processId)) return;
      const event = toEvent(message.payload);
      if (event === undefined) {
        this.#logger.warn("Ignored a notification that is not a store event", {
          channel: message.channel,
        });
        return;
      }
      this.#fanOut.publish(event);
    });
    this.#client = client;
    try {
      await client.connect();
      const result = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const oldPid = this.#pid;
      const pid = result.rows[0]?.pid ?? null;
      // Leases move to the new connection before events flow again, so no one who reads an
      // event can find them free.
      if (oldPid !== null && pid !== null && oldPid !== pid) await this.#onReconnect(oldPid, pid);
      await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
      this.#pid = pid;
      this.#up = pid !== null;
    } catch (error) {
      this.#client = undefined;
      client.removeAllListeners("end");
      client.on("error", () => {});
      await client.end().catch(() => {});
      throw error;
    }
    this.#retryMs = FIRST_RETRY_MS;
    this.#beat();
  }

  /** A cheap query now and then, so a connection that died silently is noticed. */
  #beat(): void {
    this.#heartbeat?.();
    this.#heartbeat = later(HEARTBEAT_MS, () => {
      const client = this.#client;
      if (client === undefined || this.#closed) return;
      client.query("SELECT 1").then(
        () => this.#beat(),
        (error: unknown) => this.#lost(client, error),
      );
    });
  }

  #lost(client: Pg.Client, error: unknown): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = undefined;
    this.#up = false;
    // The pid stays recorded until the reconnect, so leases can move to the new one.
    this.#heartbeat?.();
    client.removeAllListeners("end");
    client.on("error", () => {});
    client.end().catch(() => {});
    this.#logger.warn("The PostgreSQL store lost its listening connection; reconnecting", {
      error: error instanceof Error ? error.message : "connection ended",
    });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, LAST_RETRY_MS);
    this.#retry = later(delay, () => {
      this.#connect().then(
        () => {
          this.#logger.info("The PostgreSQL store listens for events again", {});
          // Events sent while the connection was down are gone: everyone re-reads.
          this.#fanOut.publish({ kind: "resync", sessionId: "" });
        },
        (error: unknown) => {
          this.#logger.warn("The PostgreSQL store could not reconnect its listening connection", {
            error: error instanceof Error ? error.message : String(error),
            retryInMs: this.#retryMs,
          });
          this.#schedule();
        },
      );
    });
  }

  /** Whether the listening connection is up. */
  get listening(): boolean {
    return this.#up;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry?.();
    this.#heartbeat?.();
    const client = this.#client;
    this.#client = undefined;
    this.#up = false;
    if (client !== undefined) {
      client.removeAllListeners("end");
      client.on("error", () => {});
      await client.end().catch(() => {});
    }
  }
}
