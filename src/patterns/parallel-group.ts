/**
 * `parallelGroup()`: fixed, named branches run in parallel and merged at the join. The public
 * entry of parallel groups: it also re-exports `dynamicParallelGroup` and the option types.
 * The machinery lives in `./parallel/`: options and validation (`parallel-options.ts`), one
 * branch (`run-branch.ts`), the join policies (`join-branches.ts`), the merge and recording of
 * results (`merge-outcomes.ts`), and one group run with its saved progress (`run-group.ts`).
 */
import { InvalidOptionError } from "../errors.js";
import type { NodeDefinition, NodeFn } from "../graph/node.js";
import {
  checkParallelOptions,
  joinCount,
  type ParallelGroupOptions,
} from "./parallel/parallel-options.js";
import type { Branch } from "./parallel/run-branch.js";
import { runGroup } from "./parallel/run-group.js";

export { dynamicParallelGroup } from "./dynamic-parallel-group.js";
export type {
  BranchErrorPolicy,
  DynamicParallelGroupOptions,
  JoinPolicy,
  ParallelGroupOptions,
  ParallelOptions,
} from "./parallel/parallel-options.js";

/**
 * Runs fixed branches in parallel, each on the state the group was given (the fork snapshot),
 * and merges them in declaration order (see `mergeBranches`): `append`, `sum` and custom
 * reducers fold the branches' updates, other keys merge their structural diffs. Finished
 * branches are checkpointed (with their updates), so a resumed run only runs the unfinished
 * ones and merges exactly as an uninterrupted run would.
 *
 * @example
 * ```ts
 * graph.addNode(
 *   "gather",
 *   parallelGroup<State>({
 *     branches: { web: searchWeb, docs: searchDocs },
 *     join: "all",
 *     errors: "collect",
 *     concurrency: 2,
 *     branchTimeoutMs: 30_000,
 *   }),
 * );
 * ```
 */
export function parallelGroup<S extends Record<string, unknown>>(
  options: ParallelGroupOptions<S>,
): NodeDefinition<S> {
  checkParallelOptions(options, "parallelGroup options");
  const { branches } = options;
  if (branches === null || typeof branches !== "object" || Object.keys(branches).length === 0) {
    throw new InvalidOptionError("branches", "an object with at least one named branch", branches);
  }
  const list: Branch<S>[] = Object.entries(branches).map(([name, branch]) => ({
    name,
    item: undefined,
    run: toRun(branch, name),
  }));
  const n = joinCount(options.join, list.length);
  if (n > list.length) {
    throw new InvalidOptionError("join.n", `at most the number of branches (${list.length})`, n);
  }
  return {
    kind: "parallel",
    run: (state, ctx, runtime) => runGroup(state, ctx, runtime, list, options),
  };
}

function toRun<S>(branch: NodeFn<S> | NodeDefinition<S>, name: string): NodeDefinition<S>["run"] {
  if (typeof branch === "function") return (state, ctx) => branch(state, ctx);
  if (branch !== null && typeof branch === "object" && typeof branch.run === "function")
    return branch.run;
  throw new InvalidOptionError(`branches.${name}`, "a node function or a NodeDefinition", branch);
}
