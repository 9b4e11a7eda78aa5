import type { Checkpoint, GraphAgent, GraphEvent, GraphEventType } from "../../src/index.js";

const EVENT_TYPES: readonly GraphEventType[] = [
  "run:started",
  "run:finished",
  "node:started",
  "node:completed",
  "node:failed",
  "edge:taken",
  "state:updated",
  "checkpoint:saved",
  "custom",
];

/** Records every event an agent emits, in order, through `agent.on()`. */
export function recordEvents<S extends Record<string, unknown>>(
  agent: GraphAgent<S>,
): GraphEvent[] {
  const events: GraphEvent[] = [];
  for (const type of EVENT_TYPES) agent.on(type, (event) => events.push(event as GraphEvent));
  return events;
}

/** A promise with its resolve and reject functions outside. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A promise that never settles unless `signal` aborts; then it rejects with the reason. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** A promise that never settles, whatever happens. */
export function never(): Promise<never> {
  return new Promise<never>(() => {});
}

/** Lets pending promise callbacks and I/O callbacks run, `turns` turns of the event loop. */
export async function turns(count = 1): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Whether `promise` settles within a few turns of the event loop, without waiting on any timer.
 * Used to check that something happens "promptly" (a cancel, a timeout that was driven by the
 * simulated clock).
 */
export async function settlesSoon(promise: Promise<unknown>, within = 20): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < within && !settled; i++) await turns();
  return settled;
}

/** The session's history, failing the test when any checkpoint in it cannot be read. */
export async function historyOf<S extends Record<string, unknown>>(
  agent: GraphAgent<S>,
  sessionId: string,
  options: { readonly limit?: number } = {},
): Promise<Checkpoint<S>[]> {
  const entries = await agent.history(sessionId, options);
  for (const entry of entries) {
    if (entry.error !== undefined) throw entry.error;
  }
  return entries as Checkpoint<S>[];
}
