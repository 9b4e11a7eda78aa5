/**
 * A `Store` seen through the eyes of one process that can die: every call goes to the
 * underlying store until `crash()`, and from then on every call fails with
 * `StoreUnavailableError` and no notifier event reaches this process any more (`deafen()` loses
 * only the events). Other agents
 * and services keep using the underlying store directly, as other processes would. Only the
 * public `Store` interface is used, so it wraps any backend.
 */
import { StoreUnavailableError } from "../../src/errors.js";
import type { AuditStore } from "../../src/store/audit-store.js";
import type { CheckpointStore } from "../../src/store/checkpoint-store.js";
import type { DeliveryStore } from "../../src/store/delivery-store.js";
import type { InterruptStore } from "../../src/store/interrupt-store.js";
import type { Notifier } from "../../src/store/notifier.js";
import type { SessionStore } from "../../src/store/session-store.js";
import type { Store, StoreBatch } from "../../src/store/store.js";

/** A call about to reach the underlying store: `"interrupts.claim"`, `"commit"`, … */
export interface StoreCall {
  readonly name: string;
  readonly args: readonly unknown[];
  /** What the underlying store answered. */
  readonly result: unknown;
}

export class CrashableStore implements Store {
  readonly checkpoints: CheckpointStore;
  readonly interrupts: InterruptStore;
  readonly audit: AuditStore;
  readonly sessions: SessionStore;
  readonly deliveries: DeliveryStore;
  readonly notifier: Notifier;
  readonly #inner: Store;
  #crashed = false;
  #deaf = false;
  #crashAfter: ((call: StoreCall) => boolean) | undefined;
  #before: { when: (call: Omit<StoreCall, "result">) => boolean; run: () => unknown } | undefined;
  #after: { when: (call: StoreCall) => boolean; run: () => unknown } | undefined;
  #inFlight = 0;
  /** Calls that failed because the process had died. */
  failedCalls = 0;

  constructor(inner: Store) {
    this.#inner = inner;
    this.checkpoints = this.#part("checkpoints", inner.checkpoints);
    this.interrupts = this.#part("interrupts", inner.interrupts);
    this.audit = this.#part("audit", inner.audit);
    this.sessions = this.#part("sessions", inner.sessions);
    this.deliveries = this.#part("deliveries", inner.deliveries);
    this.notifier = {
      subscribe: (sessionId, listener) =>
        inner.notifier.subscribe(sessionId, (event) => {
          if (!this.#crashed && !this.#deaf) listener(event);
        }),
    };
  }

  /** Whether the process has died. */
  get crashed(): boolean {
    return this.#crashed;
  }

  /** Calls that reached the underlying store and have not answered yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The process dies now: nothing it does reaches the store any more. */
  crash(): void {
    this.#crashed = true;
  }

  /**
   * From now on no notifier event reaches this process (its listening connection is down and
   * nobody says so); its calls still work.
   */
  deafen(): void {
    this.#deaf = true;
  }

  /** The process dies right after the first call for which `when` holds has reached the store. */
  crashAfter(when: (call: StoreCall) => boolean): void {
    this.#crashAfter = when;
  }

  /**
   * Runs `action` (and waits for it) once, just before the first call for which `when` holds
   * reaches the store: something else happens while this process is in the middle of a write.
   */
  before(when: (call: Omit<StoreCall, "result">) => boolean, action: () => unknown): void {
    this.#before = { when, run: action };
  }

  /**
   * Runs `action` (and waits for it) once, right after the first call for which `when` holds
   * reached the store and before its answer gets back to this process.
   */
  after(when: (call: StoreCall) => boolean, action: () => unknown): void {
    this.#after = { when, run: action };
  }

  async commit(batch: StoreBatch): Promise<void> {
    return this.#call("commit", [batch], () => this.#inner.commit(batch));
  }

  async close(): Promise<void> {
    // The underlying store belongs to the test, which closes it.
  }

  async #call<T>(name: string, args: readonly unknown[], run: () => Promise<T>): Promise<T> {
    if (this.#crashed) {
      this.failedCalls++;
      throw new StoreUnavailableError("crashable", `the process died before \`${name}\``);
    }
    const before = this.#before;
    if (before?.when({ name, args }) === true) {
      this.#before = undefined;
      await before.run();
    }
    this.#inFlight++;
    let result: T;
    try {
      result = await run();
    } finally {
      this.#inFlight--;
    }
    const after = this.#after;
    if (after?.when({ name, args, result }) === true) {
      this.#after = undefined;
      await after.run();
    }
    if (this.#crashAfter?.({ name, args, result }) === true) {
      this.#crashAfter = undefined;
      this.crash();
    }
    return result;
  }

  #part<T extends object>(prefix: string, part: T): T {
    return new Proxy(part, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) =>
          this.#call(`${prefix}.${String(key)}`, args, () =>
            Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)),
          );
      },
    });
  }
}

/**
 * The moment a run that was cancelled starts to write its end: its read of the interrupt
 * queue's position (which its cancelled checkpoint records), or, where no such read comes
 * first, the commit of that checkpoint.
 */
export function endOfCancelledRun(call: Omit<StoreCall, "result">): boolean {
  return call.name === "interrupts.stats" || commitWithStatus("cancelled")(call);
}

/** A commit whose batch passes `test`. */
export function commitWhere(test: (batch: StoreBatch) => boolean) {
  return (call: Omit<StoreCall, "result">): boolean =>
    call.name === "commit" && test(call.args[0] as StoreBatch);
}

/** The commit of a checkpoint with `status`: a run's end, say. */
export function commitWithStatus(status: string) {
  return commitWhere((batch) => batch.checkpoints?.some((c) => c.status === status) ?? false);
}
