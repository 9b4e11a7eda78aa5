/** `dynamicParallelGroup()`: one parallel branch per item of a list computed from the state. */
import { InvalidOptionError } from "../errors.js";
import type { NodeDefinition } from "../graph/node.js";
import {
  checkParallelOptions,
  type DynamicParallelGroupOptions,
} from "./parallel/parallel-options.js";
import type { Branch } from "./parallel/run-branch.js";
import { runGroup } from "./parallel/run-group.js";

/**
 * One branch per item of a list computed from the state (map-reduce), run like
 * `parallelGroup`. Branches are named by index and merged in list order; `ctx.item` is the item.
 *
 * @example
 * ```ts
 * graph.addNode(
 *   "research",
 *   dynamicParallelGroup<State, string>({
 *     items: (s) => s.questions,
 *     branch: async (s, ctx, question) => ({ findings: [await answer(question, ctx.signal)] }),
 *     concurrency: 4,
 *   }),
 * );
 * ```
 */
export function dynamicParallelGroup<S extends Record<string, unknown>, T>(
  options: DynamicParallelGroupOptions<S, T>,
): NodeDefinition<S> {
  checkParallelOptions(options, "dynamicParallelGroup options");
  const { items, branch } = options;
  if (typeof items !== "function") {
    throw new InvalidOptionError("items", "a function `(state) => readonly item[]`", items);
  }
  if (typeof branch !== "function") {
    throw new InvalidOptionError("branch", "a function `(state, ctx, item) => update`", branch);
  }
  return {
    kind: "parallel",
    run: (state, ctx, runtime) => {
      const values = items(state);
      if (!Array.isArray(values)) throw new InvalidOptionError("items(state)", "an array", values);
      const list: Branch<S>[] = values.map((item: T, index) => ({
        name: String(index),
        item,
        run: (s, c) => branch(s, c, item),
      }));
      return runGroup(state, ctx, runtime, list, options);
    },
  };
}
