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
