import { NoRouteError, UnknownNodeError } from "../errors.js";
import type { RouteReason } from "../run/events.js";
import { END } from "./constants.js";
import type { OutEdges } from "./edges.js";
import { closestName } from "./suggest.js";

/** Where a node leads: the next nodes (END removed) and why. */
export interface RouteDecision {
  /** The next nodes; empty when the branch ends. */
  readonly targets: readonly string[];
  readonly reason: RouteReason;
  readonly label: string | undefined;
  /** True when END was among the destinations. */
  readonly ended: boolean;
}

function unknownNode(node: string, where: string, known: readonly string[]): UnknownNodeError {
  return new UnknownNodeError(node, where, known, closestName(node, known));
}

const ENDED: RouteDecision = { targets: [], reason: "edge", label: undefined, ended: true };

function decide(
  destinations: readonly string[],
  reason: RouteReason,
  label: string | undefined,
  where: string,
  isNode: (name: string) => boolean,
  known: () => readonly string[],
): RouteDecision {
  if (destinations.length === 1) {
    const only = destinations[0]!;
    if (only === END) return { targets: [], reason, label, ended: true };
    if (!isNode(only)) throw unknownNode(only, where, known());
    return { targets: destinations, reason, label, ended: false };
  }
  const targets: string[] = [];
  let ended = false;
  for (const to of destinations) {
    if (to === END) ended = true;
    else if (!isNode(to)) throw unknownNode(to, where, known());
    else if (!targets.includes(to)) targets.push(to);
  }
  return { targets, reason, label, ended };
}

/**
 * Chooses the next nodes after `from`. Pure: `goto` (from a `Command`) wins over edges;
 * then plain edges, conditional routes by priority with their fallback, or the router.
 * Throws `NoRouteError` when there is nowhere to go and `from` is not a finish node.
 */
export function route<S>(
  from: string,
  state: Readonly<S>,
  edges: OutEdges<S> | undefined,
  goto: readonly string[] | undefined,
  finish: boolean,
  isNode: (name: string) => boolean,
  known: () => readonly string[],
): RouteDecision {
  if (goto !== undefined) {
    if (goto.length === 0) throw new NoRouteError(from, "its Command has an empty `goto`");
    return decide(goto, "command", undefined, `The Command returned by \`${from}\``, isNode, known);
  }
  if (edges === undefined) {
    if (finish) return ENDED;
    throw new NoRouteError(from, "it has no outgoing edge");
  }
  switch (edges.kind) {
    case "plain":
      return decide(edges.targets, "edge", undefined, `An edge from \`${from}\``, isNode, known);
    case "routes": {
      for (const r of edges.routes) {
        if (r.when(state))
          return decide([r.to], "condition", r.label, `A route from \`${from}\``, isNode, known);
      }
      if (edges.fallback !== undefined) {
        return decide(
          [edges.fallback],
          "fallback",
          undefined,
          `The fallback of \`${from}\``,
          isNode,
          known,
        );
      }
      if (finish) return ENDED;
      throw new NoRouteError(from, "no condition matched and there is no fallback");
    }
    case "router": {
      const result = edges.router(state);
      const destinations = typeof result === "string" ? [result] : result;
      if (!Array.isArray(destinations) || destinations.length === 0) {
        if (finish) return ENDED;
        throw new NoRouteError(from, "its router returned no node");
      }
      return decide(destinations, "router", undefined, `The router of \`${from}\``, isNode, known);
    }
  }
}
