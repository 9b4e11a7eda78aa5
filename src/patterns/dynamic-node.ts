import { DynamicSelectionError, InvalidOptionError } from "../errors.js";
import type { NodeContext, NodeDefinition, NodeFn } from "../graph/node.js";

/** Options of `dynamicNode()`. */
export interface DynamicNodeOptions<S> {
  /** Chooses the option to run, by key, from the state (may be async, e.g. a model call). */
  readonly select: (state: Readonly<S>, ctx: NodeContext) => string | Promise<string>;
  /** What may run: node functions or node definitions (agent nodes, nested graphs, groups). */
  readonly options: Readonly<Record<string, NodeFn<S> | NodeDefinition<S>>>;
  /** The option to run when `select` returns a key that is not in `options`. */
  readonly fallback?: string;
}

/**
 * A node that chooses at run time which node, agent or nested graph runs in its place. The
 * chosen option receives the same state, context and runtime; its result is the node's
 * result. The choice is emitted as a `dynamic:selected` custom event and kept in the meta of
 * the node's checkpoint (`meta.selected`, with `meta.requested` when the fallback was used).
 *
 * @example
 * ```ts
 * graph.addNode(
 *   "route",
 *   dynamicNode<State>({
 *     select: (s) => s.kind,
 *     options: { billing: billingGraphNode, tech: techAgent },
 *     fallback: "tech",
 *   }),
 * );
 * ```
 * @throws DynamicSelectionError at run time when `select` returns an unknown key and there is
 *   no `fallback`.
 */
export function dynamicNode<S>(options: DynamicNodeOptions<S>): NodeDefinition<S> {
  if (options === null || typeof options !== "object") {
    throw new InvalidOptionError(
      "dynamicNode options",
      "an object with `select` and `options`",
      options,
    );
  }
  const { select, fallback } = options;
  if (typeof select !== "function") {
    throw new InvalidOptionError("select", "a function `(state, ctx) => option key`", select);
  }
  const choices = options.options;
  if (choices === null || typeof choices !== "object" || Object.keys(choices).length === 0) {
    throw new InvalidOptionError("options", "an object with at least one option", choices);
  }
  const runs = new Map<string, NodeDefinition<S>["run"]>();
  for (const [key, option] of Object.entries(choices)) {
    if (typeof option === "function") runs.set(key, (state, ctx) => option(state, ctx));
    else if (option !== null && typeof option === "object" && typeof option.run === "function") {
      runs.set(key, option.run);
    } else {
      throw new InvalidOptionError(`options.${key}`, "a node function or a NodeDefinition", option);
    }
  }
  if (fallback !== undefined && !runs.has(fallback)) {
    throw new InvalidOptionError(
      "fallback",
      `one of the option keys (${[...runs.keys()].join(", ")})`,
      fallback,
    );
  }
  return {
    kind: "dynamic",
    async run(state, ctx, runtime) {
      const requested = await select(state, ctx);
      const known = typeof requested === "string" && runs.has(requested);
      if (!known && fallback === undefined) {
        throw new DynamicSelectionError(ctx.node, requested, [...runs.keys()]);
      }
      const option = known ? requested : (fallback as string);
      const run = runs.get(option) as NodeDefinition<S>["run"];
      ctx.emit("dynamic:selected", known ? { option } : { option, requested, fallback: true });
      runtime.note(
        known ? { selected: option } : { selected: option, requested: String(requested) },
      );
      return run(state, ctx, runtime);
    },
  };
}
