import { randomUUID } from "node:crypto";
import { InvalidOptionError, NestedGraphError, NestedGraphPausedError } from "../errors.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { deepEqual } from "../graph/diff.js";
import type { NodeDefinition } from "../graph/node.js";
import { MergedUpdate, type NodeRuntime } from "../graph/node-runtime.js";
import type { DeltaOp } from "../graph/state.js";
import { Checkpointer, loadCheckpoint } from "../run/checkpointer.js";
import { Run } from "../run/run.js";
import type { RunResult } from "../run/run-result.js";
import { RunTracing } from "../run/run-tracing.js";
import { nodeNameOf } from "./parallel-group.js";

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

/** What a nested node saves with `saveProgress`: the child run it started. */
interface NestedProgress {
  readonly childRunId: string;
}

/**
 * Uses a compiled graph as one node. The child runs in its own checkpoint thread
 * (`<thread>/<node>`), its node, edge, state and checkpoint events reach the parent's
 * listeners with `graph` set to the nesting path (`parent/child`) (its own `run:started` /
 * `run:finished` are not forwarded), and the parent's cancel aborts it. When the parent is
 * resumed after stopping inside the child, the child continues from its latest checkpoint
 * instead of starting over.
 *
 * A child that ends `failed`, `cancelled` or `rejected` fails the node with
 * `NestedGraphError` (its `cause` is the child's error). Pausing inside a child is not
 * supported yet: it fails the node with `NestedGraphPausedError`.
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
    async run(parent, ctx, runtime) {
      const node = nodeNameOf(ctx, runtime);
      const threadId = `${runtime.threadId}/${node}`;
      const store = runtime.store.checkpoints;
      const latest = runtime.durability === "off" ? undefined : await store.latest(threadId);
      const saved = runtime.progress.at(-1) as NestedProgress | undefined;
      const resume =
        latest !== undefined && latest.status !== "completed" && saved?.childRunId === latest.runId;

      let state: C;
      let path: readonly string[] = [];
      let frontier: readonly string[];
      let resumedFrom: string | null = null;
      if (resume) {
        const checkpoint = await loadCheckpoint<C>(store, threadId, latest.id);
        state = checkpoint.state;
        path = checkpoint.path;
        frontier = checkpoint.next;
        resumedFrom = checkpoint.id;
      } else {
        const input = options.input
          ? options.input(parent)
          : sharedValues(parent, compiled.state.keys);
        state = compiled.state.parseInput(input);
        frontier = compiled.entry(state).targets;
      }

      const runId = randomUUID();
      await runtime.saveProgress({ childRunId: runId } satisfies NestedProgress);
      const run = new Run<C>({
        graph: compiled,
        graphPath: `${runtime.graphPath}/${compiled.name}`,
        sessionId: runtime.sessionId,
        threadId,
        runId,
        state,
        path,
        frontier,
        resumedFrom,
        checkpointer: new Checkpointer<C>({
          threadId,
          store,
          durability: runtime.durability,
          now: () => runtime.clock.now(),
          parent: latest,
          nextSeq: (latest?.seq ?? -1) + 1,
        }),
        store: runtime.store,
        durability: runtime.durability,
        maxIterations: runtime.maxIterations,
        clock: runtime.clock,
        logger: runtime.logger,
        hooks: {},
        sink: childSink(runtime.sink),
        signal: ctx.signal,
        progress: undefined,
        pending: undefined,
        control: undefined,
        tracing: new RunTracing(runtime.tracer, {
          graph: compiled.name,
          agentName: compiled.name,
          sessionId: runtime.sessionId,
          runId,
          resumedFrom,
          previousTraceparent: undefined,
          parent: runtime.traceContext,
        }),
      });
      const result = await run.execute();
      return toParentUpdate(result, parent, runtime, node, compiled.name, options.output);
    },
  };
}

/**
 * The parent's sink without the child's `run:started` / `run:finished`: those mark the
 * parent's run for listeners and `stream({ mode: "final" })`; the child's steps still arrive.
 */
function childSink(sink: NodeRuntime["sink"]): NodeRuntime["sink"] {
  if (sink === undefined) return undefined;
  return (event) => {
    if (event.type !== "run:started" && event.type !== "run:finished") sink(event);
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
  result: RunResult<C>,
  parent: Readonly<P>,
  runtime: NodeRuntime,
  node: string,
  graph: string,
  output: NestedGraphOptions<P, C>["output"],
): Partial<P> | MergedUpdate<P> {
  if (result.status === "paused") throw new NestedGraphPausedError(node, graph);
  if (result.status !== "completed") {
    throw new NestedGraphError(node, graph, result.status, result.error);
  }
  if (output) return output(result.state, parent);
  const changed: Record<string, unknown> = {};
  for (const key of runtime.state.keys) {
    if (!Object.hasOwn(result.state, key)) continue;
    if (!deepEqual(result.state[key], parent[key])) changed[key] = result.state[key];
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
