import { InvalidOptionError, NestedGraphError } from "../errors.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { deepEqual } from "../graph/diff.js";
import type { NodeDefinition } from "../graph/node.js";
import { MergedUpdate, type NodeRuntime } from "../graph/node-runtime.js";
import type { DeltaOp } from "../graph/state.js";

/** Options of `nestedGraph()`. */
export interface NestedGraphOptions<P, C> {
  /**
   * The child's input, from the parent's state; validated against the child's schema.
   * Default: the parent's values of the keys both states have.
   */
  readonly input?: (parent: Readonly<P>) => unknown;
  /**
   * The parent's update, from the child's final state; applied through the parent's
   * reducers. Default: the child's final values of the shared keys it changed, taken as they
   * are (the child already applied its reducers to the values it was given).
   */
  readonly output?: (child: Readonly<C>, parent: Readonly<P>) => Partial<P>;
}

/**
 * Uses a compiled graph as one node. The child runs in its own checkpoint thread (the nested
 * node's path), and every child node has its own path: the nested node's name, `/`, and the
 * child's node (`review/check`) — in events, `ctx.node`, checkpoints and spans. Its node, edge,
 * state and checkpoint events reach the parent's listeners (its own `run:started` /
 * `run:finished` are not forwarded), and the parent's cancel aborts it.
 *
 * Interrupts reach inside: the child listens to the session's queue at its own checkpoints,
 * approval gates and `check` lists name child nodes by path, a child that pauses suspends the
 * whole run, and a resume continues inside the child from its checkpoint. A `go_back` to one of
 * the parent's nodes is handed up to the parent.
 *
 * A child that ends `failed`, `cancelled` or `rejected` fails the node with
 * `NestedGraphError` (its `cause` is the child's error).
 *
 * @example
 * ```ts
 * const billing = new Graph({ state: Ticket, name: "billing" })…compile();
 * graph.addNode(
 *   "billing",
 *   nestedGraph<Parent, Ticket>(billing, {
 *     input: (p) => ({ question: p.request }),
 *     output: (c) => ({ answer: c.reply }),
 *   }),
 * );
 * ```
 */
export function nestedGraph<P extends Record<string, unknown>, C extends Record<string, unknown>>(
  compiled: CompiledGraph<C>,
  options: NestedGraphOptions<P, C> = {},
): NodeDefinition<P> {
  if (compiled === null || typeof compiled !== "object" || typeof compiled.next !== "function") {
    throw new InvalidOptionError(
      "compiled",
      "a compiled graph (call `.compile()` on the Graph)",
      compiled,
    );
  }
  if (options.input !== undefined && typeof options.input !== "function") {
    throw new InvalidOptionError("input", "a function `(parent) => child input`", options.input);
  }
  if (options.output !== undefined && typeof options.output !== "function") {
    throw new InvalidOptionError(
      "output",
      "a function `(child, parent) => parent update`",
      options.output,
    );
  }
  return {
    kind: "nested",
    graph: compiled as unknown as CompiledGraph<Record<string, unknown>>,
    async run(parent, ctx, runtime) {
      const input = () =>
        options.input ? options.input(parent) : sharedValues(parent, compiled.state.keys);
      const result = await runtime.runChild(compiled, input, ctx.signal);
      if (result.status === "stopped") return result.stop;
      if (result.status !== "completed") {
        throw new NestedGraphError(ctx.node, compiled.name, result.status, result.error);
      }
      return toParentUpdate(result.state, parent, runtime, ctx.node, compiled.name, options.output);
    },
  };
}

function sharedValues(
  parent: Record<string, unknown>,
  keys: readonly string[],
): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(parent, key)) input[key] = parent[key];
  return input;
}

function toParentUpdate<P extends Record<string, unknown>, C extends Record<string, unknown>>(
  child: Readonly<C>,
  parent: Readonly<P>,
  runtime: NodeRuntime,
  node: string,
  graph: string,
  output: NestedGraphOptions<P, C>["output"],
): Partial<P> | MergedUpdate<P> {
  if (output) return output(child, parent);
  const changed: Record<string, unknown> = {};
  for (const key of runtime.state.keys) {
    if (!Object.hasOwn(child, key)) continue;
    if (!deepEqual(child[key], parent[key])) changed[key] = child[key];
  }
  runtime.state.validateUpdate(
    changed,
    `The output of nested graph \`${graph}\` (node \`${node}\`)`,
  );
  const delta: DeltaOp[] = Object.entries(changed).map(
    ([key, value]) => [key, "set", value] as const,
  );
  return new MergedUpdate({ ...parent, ...changed } as P, delta);
}
