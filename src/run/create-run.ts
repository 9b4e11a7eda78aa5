/**
 * `createRun()`: the one way a run is built, for a session's own run and for the run of a
 * nested graph alike. It wires the checkpointer, the spans, the pattern runtime and nested runs.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "@opentelemetry/api";
import type { Clock } from "../clock.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { type ChildResult, NodeStop } from "../graph/node-runtime.js";
import type { Logger } from "../logger.js";
import { keyBaseOf } from "../store/checkpoint-meta.js";
import type { Lease } from "../store/session-store.js";
import type { Store } from "../store/store.js";
import type { TrellisTracer } from "../telemetry/tracing.js";
import { readCheckpoint } from "./checkpoint-reader.js";
import { Checkpointer, type Durability } from "./checkpointer.js";
import { type ChildStart, runtimeFactory } from "./node-runtime-factory.js";
import { type RunPlan, startPlan } from "./planner.js";
import { Run } from "./run.js";
import type { ControlHost, RunControl } from "./run-control.js";
import type { EventSink, RunHooks } from "./run-hooks.js";
import type { RunSetup } from "./run-setup.js";
import { RunTracing } from "./run-tracing.js";
import type { SessionControl } from "./session-control.js";

/** What every run of an agent shares (its nested runs too). */
export interface RunEnvironment {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly durability: Durability;
  readonly maxIterations: number;
  readonly tracer: TrellisTracer;
  /** The session's lease, for fencing every write. */
  readonly lease: () => Lease | undefined;
  readonly agentName: string;
  readonly sink: EventSink | undefined;
}

/** Where one run starts. */
export interface RunStart<S extends Record<string, unknown>> {
  readonly graph: CompiledGraph<S>;
  readonly sessionId: string;
  readonly thread: string;
  readonly prefix: string;
  readonly runId: string;
  readonly plan: RunPlan<S>;
  readonly resumedFrom: string | null;
  /** The checkpoint the run's lineage continues. */
  readonly parentId: string | null;
  /** The checkpoint the idempotency keys of the first steps derive from; `parentId` when absent. */
  readonly keyBase?: string | null | undefined;
  readonly nextSeq: number;
  readonly signal: AbortSignal | undefined;
  readonly progress: RunSetup<S>["progress"];
  readonly hooks: RunHooks<S>;
  readonly control: ((host: ControlHost) => RunControl) | undefined;
  readonly session: SessionControl | undefined;
  readonly cancelledAtSeq: RunSetup<S>["cancelledAtSeq"];
  readonly begin: RunSetup<S>["begin"];
  readonly previousTraceparent: string | undefined;
  /** The span a nested run nests under. */
  readonly parentSpan: Context | undefined;
  readonly parentHas?: RunSetup<S>["parentHas"];
  readonly sink: EventSink | undefined;
}

/** Builds a run. */
export function createRun<S extends Record<string, unknown>>(
  env: RunEnvironment,
  start: RunStart<S>,
): Run<S> {
  const graph = start.graph;
  return new Run<S>({
    graph,
    sessionId: start.sessionId,
    thread: start.thread,
    prefix: start.prefix,
    runId: start.runId,
    plan: start.plan,
    resumedFrom: start.resumedFrom,
    checkpointer: new Checkpointer({
      store: env.store,
      sessionId: start.sessionId,
      thread: start.thread,
      durability: env.durability,
      now: () => env.clock.now(),
      lease: env.lease,
      parentId: start.parentId,
      keyBase: start.keyBase,
      nextSeq: start.nextSeq,
    }),
    store: env.store,
    durability: env.durability,
    maxIterations: env.maxIterations,
    clock: env.clock,
    logger: env.logger,
    hooks: start.hooks,
    sink: start.sink,
    signal: start.signal,
    progress: start.progress,
    control: start.control,
    session: start.session,
    cancelledAtSeq: start.cancelledAtSeq,
    begin: start.begin,
    parentHas: start.parentHas,
    tracing: new RunTracing(env.tracer, {
      graph: graph.name,
      agentName: start.thread === "" ? env.agentName : graph.name,
      sessionId: start.sessionId,
      runId: start.runId,
      resumedFrom: start.resumedFrom,
      previousTraceparent: start.previousTraceparent,
      parent: start.parentSpan,
      prefix: start.prefix,
    }),
    runtimes: runtimeFactory({
      clock: env.clock,
      logger: env.logger,
      state: graph.state as never,
      conflicts: graph.conflicts,
      tracer: env.tracer,
      runChild: (child) => runChild(env, start, child),
    }),
  });
}

/** What a nested node saves before it starts its child: the child run to resume. */
interface ChildProgress {
  readonly childRunId: string;
}

const isChildProgress = (entry: unknown): entry is ChildProgress =>
  typeof entry === "object" && entry !== null && "childRunId" in entry;

/**
 * Runs a nested graph in the thread of the node that runs it. When the parent's run continues
 * one that stopped inside this child, the child continues from its own checkpoint.
 */
async function runChild<P extends Record<string, unknown>, C extends Record<string, unknown>>(
  env: RunEnvironment,
  parent: RunStart<P>,
  child: ChildStart<C>,
): Promise<ChildResult<C>> {
  const { store } = env;
  const { graph, thread } = child;
  const latest =
    env.durability === "off" ? undefined : await store.checkpoints.latest(parent.sessionId, thread);
  const saved = child.progress.filter(isChildProgress).at(-1);
  const resume =
    latest !== undefined &&
    latest.kind !== "unparsable" &&
    latest.status !== "completed" &&
    saved?.childRunId === latest.runId;
  let plan: RunPlan<C>;
  let resumedFrom: string | null = null;
  let keyBase: string | null = null;
  if (resume) {
    const { checkpoint } = await readCheckpoint(store, graph, parent.sessionId, thread, latest.id);
    resumedFrom = checkpoint.id;
    keyBase = keyBaseOf(checkpoint);
    const gate = checkpoint.meta.gate;
    plan = startPlan({
      state: checkpoint.state,
      path: checkpoint.path,
      frontier: checkpoint.next,
      gate: gate !== undefined && ownsGate(graph, `${thread}/`, gate.node) ? gate : undefined,
      rerun: checkpoint.meta.rerun,
      waiting: checkpoint.meta.waiting,
      checked: true,
    });
  } else {
    const state = graph.state.parseInput(child.input());
    plan = startPlan({ state, path: [], frontier: graph.entry(state).targets, nested: true });
  }
  const runId = randomUUID();
  await child.saveProgress({ childRunId: runId } satisfies ChildProgress);
  const prefix = `${thread}/`;
  const run = createRun<C>(env, {
    graph,
    sessionId: parent.sessionId,
    thread,
    prefix,
    runId,
    plan,
    resumedFrom,
    parentId: resume ? latest.id : null,
    keyBase,
    nextSeq: (latest?.seq ?? -1) + 1,
    signal: child.signal,
    progress: undefined,
    hooks: {},
    control: child.control === undefined ? undefined : (host) => child.control!.child(host),
    session: undefined,
    cancelledAtSeq: undefined,
    begin: resume
      ? { checkpoint: false, audit: [], meta: {} }
      : { checkpoint: true, audit: [], meta: { graph: graph.name } },
    previousTraceparent: undefined,
    parentSpan: child.parentSpan.context,
    parentHas: (target) => typeof target === "string" && child.parentPath.includes(target),
    sink: childSink(parent.sink),
  });
  const result = await run.execute();
  const stop = run.stopReason;
  if (stop !== undefined) return { status: "stopped", stop: new NodeStop(stop) };
  if (result.status === "completed") return { status: "completed", state: result.state };
  if (result.status === "paused") {
    return {
      status: "stopped",
      stop: new NodeStop({ kind: "suspend", pause: undefined, gate: result.gate }),
    };
  }
  return { status: result.status, error: result.error! };
}

/** Whether a stored gate belongs to a node of this graph (not to one nested deeper). */
export function ownsGate<S extends Record<string, unknown>>(
  graph: CompiledGraph<S>,
  prefix: string,
  node: string,
): boolean {
  if (!node.startsWith(prefix)) return false;
  const own = node.slice(prefix.length);
  return graph.node(own) !== undefined;
}

/**
 * The parent's sink without the child's `run:started` / `run:finished`: those mark the
 * parent's run for listeners and `stream({ mode: "final" })`; the child's steps still arrive.
 */
function childSink(sink: EventSink | undefined): EventSink | undefined {
  if (sink === undefined) return undefined;
  return (event) => {
    if (event.type !== "run:started" && event.type !== "run:finished") sink(event);
  };
}
