import { type Clock, MAX_TIMEOUT_MS } from "../clock.js";
import { NodeExecutionError, NodeTimeoutError, RunCancelledError } from "../errors.js";
import type { NodeContext, NodeDefinition, NodeResult, RetryPolicy } from "../graph/node.js";
import type { MergedUpdate, NodeRuntime, NodeStop } from "../graph/node-runtime.js";
import type { LazyAbort } from "./lazy-abort.js";

// Passing a reason to `abort()` spares the DOMException (with its stack) that a bare `abort()`
// builds; nobody reads this one, and runs stop such timers several times each.
const SETTLED = "the node settled";

type Result<S> = NodeResult<S> | MergedUpdate<S> | NodeStop;

/** Everything needed to run one node once or several times under its retry policy. */
export interface NodeCall<S> {
  readonly name: string;
  readonly run: NodeDefinition<S>["run"];
  readonly runtime: NodeRuntime;
  readonly state: Readonly<S>;
  readonly retry: RetryPolicy | undefined;
  readonly timeoutMs: number | undefined;
  /** The run's abort switch: aborting it aborts the node at once. */
  readonly abort: LazyAbort;
  readonly clock: Clock;
  /** Builds the context for one attempt. */
  /** Builds the context; `signal()` gives the attempt's signal, built only if the node reads it. */
  readonly context: (attempt: number, signal: () => AbortSignal) => NodeContext;
  /** Told about each failed attempt before the next one (or the final failure). */
  readonly onFailure: (attempt: number, error: unknown, willRetry: boolean) => void;
  /**
   * Told about the promise of each attempt's own work (what the node function returned): an
   * abort stops waiting for it at once, and a caller that must not move on while the node
   * still runs waits for it.
   */
  readonly started?: ((work: PromiseLike<unknown>) => void) | undefined;
  readonly random?: () => number;
}

const defaultRetryOn = (error: unknown): boolean =>
  !(error instanceof NodeTimeoutError) && !(error instanceof RunCancelledError);

/** True for promises and other thenables. */
export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** Waits for `promise`, or rejects as soon as `signal` aborts. */
function raceAbort<T>(promise: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

async function attempt<S>(call: NodeCall<S>, n: number): Promise<Result<S>> {
  if (call.timeoutMs === undefined) {
    const result = call.run(
      call.state,
      call.context(n, () => call.abort.signal),
      call.runtime,
    );
    if (!isThenable<Result<S>>(result)) return result;
    call.started?.(result);
    return call.abort.race(result);
  }
  const controller = new AbortController();
  const stopTimer = new AbortController();
  const stopListening = call.abort.onAbort((reason) => controller.abort(reason));
  call.clock.sleep(call.timeoutMs, stopTimer.signal).then(
    () => controller.abort(new NodeTimeoutError(call.name, call.timeoutMs!)),
    () => {},
  );
  try {
    const result = call.run(
      call.state,
      call.context(n, () => controller.signal),
      call.runtime,
    );
    if (!isThenable<Result<S>>(result)) return result;
    call.started?.(result);
    return await raceAbort(result, controller.signal);
  } finally {
    stopTimer.abort(SETTLED);
    stopListening();
  }
}

/**
 * Runs a node under its retry policy and timeout. Resolves with its result; rejects with
 * `NodeTimeoutError`, the run's abort reason when the run was cancelled, or
 * `NodeExecutionError` wrapping what the node threw.
 */
export async function executeNode<S>(call: NodeCall<S>): Promise<Result<S>> {
  const policy = call.retry;
  const maxAttempts = policy ? (policy.maxAttempts ?? 3) : 1;
  const retryOn = policy?.retryOn ?? defaultRetryOn;
  let delay = policy?.initialDelayMs ?? 100;
  for (let n = 1; ; n++) {
    try {
      return await attempt(call, n);
    } catch (error) {
      if (call.abort.aborted) throw call.abort.reason;
      const willRetry = n < maxAttempts && retryOn(error);
      call.onFailure(n, error, willRetry);
      if (!willRetry) {
        if (error instanceof NodeTimeoutError || error instanceof NodeExecutionError) throw error;
        throw new NodeExecutionError(call.name, n, error);
      }
      const jitter = policy?.jitter ?? 0.1;
      const random = call.random ?? Math.random;
      const wait =
        Math.min(delay, policy?.maxDelayMs ?? 10_000) * (1 + jitter * (random() * 2 - 1));
      // Capped like every other wait: a clock refuses to sleep longer than MAX_TIMEOUT_MS (and
      // chains timers for waits longer than one timer takes), and backoff or jitter can go past it.
      await call.clock.sleep(Math.min(Math.max(0, wait), MAX_TIMEOUT_MS), call.abort.signal);
      delay *= policy?.backoffFactor ?? 2;
    }
  }
}
