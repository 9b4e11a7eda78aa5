/** One conditional route: taken when `when(state)` holds; higher `priority` is tried first. */
export interface Route<S> {
  readonly to: string;
  /** Whether to take this route in `state`. */
  readonly when: (state: Readonly<S>) => boolean;
  /** Higher is tried first; equal priorities keep declaration order. Default 0. */
  readonly priority?: number;
  /** Shown on the edge in `toMermaid()` and in `edge:taken` events. */
  readonly label?: string;
}

/** Conditional edges with priorities and a fallback for when no route matches. */
export interface ConditionalEdges<S> {
  readonly routes: readonly Route<S>[];
  /** Where to go when no route matches (a node or END). */
  readonly fallback?: string;
}

/** A router function: returns the next node, several (fan-out), or END. */
export type Router<S> = (state: Readonly<S>) => string | readonly string[];

/** A route with its defaults filled in. */
export interface SortedRoute<S> {
  readonly to: string;
  /** Whether to take this route in `state`. */
  readonly when: (state: Readonly<S>) => boolean;
  readonly priority: number;
  readonly label: string | undefined;
}

/** The outgoing edges of one node (or of START), as stored in a graph. */
export type OutEdges<S> =
  | { readonly kind: "plain"; readonly targets: readonly string[] }
  | {
      readonly kind: "routes";
      /** Sorted by priority (highest first), then declaration order. */
      readonly routes: readonly SortedRoute<S>[];
      readonly fallback: string | undefined;
    }
  | {
      readonly kind: "router";
      readonly router: Router<S>;
      /** Declared destinations, used by `compile()` and `toMermaid()`; `undefined` means any node. */
      readonly targets: readonly string[] | undefined;
    };

/** Every node an edge set may lead to; `undefined` when a router declared none. */
export function edgeTargets<S>(edges: OutEdges<S>): readonly string[] | undefined {
  switch (edges.kind) {
    case "plain":
      return edges.targets;
    case "routes":
      return edges.fallback === undefined
        ? edges.routes.map((r) => r.to)
        : [...edges.routes.map((r) => r.to), edges.fallback];
    case "router":
      return edges.targets;
  }
}

/**
 * A waiting edge, from `addEdge([...sources], target)`: `target` runs once, after every one of
 * `sources` has run, instead of once per source.
 */
export interface WaitingEdge {
  /** The nodes `target` waits for, in the order they were listed. */
  readonly sources: readonly string[];
  readonly target: string;
}
