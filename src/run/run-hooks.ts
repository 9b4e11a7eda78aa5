/**
 * A run's hooks and events: `RunHooks` (callbacks around each node and edge decision), how a
 * run calls them, and `EventSink`.
 */
import { HookError } from "../errors.js";
import type { RouteDecision } from "../graph/route.js";
import type { GraphEvent } from "./events.js";

/** Callbacks around each node and edge decision. A hook that throws fails the run. */
export interface RunHooks<S> {
  /** Before a node runs. */
  readonly beforeNode?: (info: {
    readonly node: string;
    readonly state: Readonly<S>;
    readonly iteration: number;
    readonly sessionId: string;
    readonly runId: string;
  }) => void | Promise<void>;
  /** After a node's update was applied. */
  readonly afterNode?: (info: {
    readonly node: string;
    readonly state: Readonly<S>;
    readonly update: Readonly<Partial<S>> | undefined;
    readonly iteration: number;
    readonly sessionId: string;
    readonly runId: string;
  }) => void | Promise<void>;
  /** After the next node(s) were chosen. */
  readonly onEdge?: (info: {
    readonly from: string;
    readonly to: readonly string[];
    readonly reason: RouteDecision["reason"];
    readonly label: string | undefined;
    readonly sessionId: string;
    readonly runId: string;
  }) => void | Promise<void>;
}

/** Receives a run's events; `undefined` when nobody listens, so no event is built. */
export type EventSink = (event: GraphEvent) => void;

/** Calls hook `name`, if set; a hook that throws fails the run with `HookError`. */
export async function callHook<S, K extends keyof RunHooks<S>>(
  hooks: RunHooks<S>,
  name: K,
  info: Parameters<NonNullable<RunHooks<S>[K]>>[0],
): Promise<void> {
  const hook = hooks[name] as ((i: typeof info) => void | Promise<void>) | undefined;
  if (!hook) return;
  try {
    await hook(info);
  } catch (error) {
    throw new HookError(name, error);
  }
}

/** `afterNode`, then `onEdge`, for node `node` that ran and was routed by `decision`. */
export async function afterHooks<S>(
  hooks: RunHooks<S>,
  run: {
    readonly sessionId: string;
    readonly runId: string;
    readonly state: Readonly<S>;
    readonly iteration: number;
  },
  node: string,
  update: Partial<S> | undefined,
  decision: RouteDecision,
): Promise<void> {
  await callHook(hooks, "afterNode", {
    node,
    state: run.state,
    update,
    iteration: run.iteration,
    sessionId: run.sessionId,
    runId: run.runId,
  });
  await callHook(hooks, "onEdge", {
    from: node,
    to: decision.targets,
    reason: decision.reason,
    label: decision.label,
    sessionId: run.sessionId,
    runId: run.runId,
  });
}
