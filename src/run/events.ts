import type { TrellisError } from "../errors.js";
import type { DeltaOp } from "../graph/state.js";
import type { InterruptAction } from "../interrupts/actions.js";
import type { InterruptDecisionSource } from "../interrupts/interrupt-message.js";
import type { RunStatus } from "./run-result.js";

/** Fields every event carries. */
export interface EventBase {
  readonly sessionId: string;
  readonly runId: string;
  /** The graph's name; for nested graphs the nesting path, `parent/child`. */
  readonly graph: string;
  /** Milliseconds since the epoch, from the agent's clock. */
  readonly time: number;
}

/** How the next node was chosen. */
export type RouteReason = "edge" | "condition" | "fallback" | "router" | "command" | "interrupt";

/**
 * Every event a run emits, keyed by `type`. Listen with `agent.on(type, fn)` or read them all
 * from `agent.stream()`.
 */
export interface GraphEvents {
  "run:started": EventBase & { readonly resumedFrom: string | null };
  "run:finished": EventBase & {
    readonly status: RunStatus;
    readonly path: readonly string[];
    readonly error: TrellisError | undefined;
    readonly state: Readonly<Record<string, unknown>>;
  };
  "node:started": EventBase & {
    readonly node: string;
    readonly iteration: number;
    readonly attempt: number;
  };
  "node:completed": EventBase & {
    readonly node: string;
    readonly iteration: number;
    readonly durationMs: number;
  };
  "node:failed": EventBase & {
    readonly node: string;
    readonly iteration: number;
    readonly attempt: number;
    readonly error: unknown;
    readonly willRetry: boolean;
  };
  "edge:taken": EventBase & {
    readonly from: string;
    readonly to: readonly string[];
    readonly reason: RouteReason;
    readonly label: string | undefined;
  };
  "state:updated": EventBase & { readonly node: string; readonly delta: readonly DeltaOp[] };
  "checkpoint:saved": EventBase & {
    readonly checkpointId: string;
    readonly seq: number;
    readonly node: string | null;
    readonly bytes: number;
  };
  custom: EventBase & { readonly node: string; readonly name: string; readonly data: unknown };
  "interrupt:applied": EventBase & {
    readonly id: string;
    readonly action: InterruptAction;
    readonly source: InterruptDecisionSource;
    readonly node: string | null;
  };
  "interrupt:refused": EventBase & {
    readonly id: string;
    readonly error: TrellisError;
    readonly node: string | null;
  };
  "approval:requested": EventBase & {
    readonly node: string;
    readonly revision: number;
    readonly requestId: string;
  };
  "approval:decided": EventBase & {
    readonly node: string;
    readonly decision: "approve" | "reject" | "request_changes";
    readonly actor: string | undefined;
    readonly by: "human" | "timeout" | "revision-limit";
    readonly requestId: string;
  };
  "state:restored": EventBase & {
    readonly checkpointId: string;
    readonly path: readonly string[];
    readonly next: readonly string[];
  };
}

/** The name of an event. */
export type GraphEventType = keyof GraphEvents;

/** One event, discriminated by `type`. */
export type GraphEvent = {
  [K in GraphEventType]: { readonly type: K } & GraphEvents[K];
}[GraphEventType];
