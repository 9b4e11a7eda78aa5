/**
 * The runtime pattern nodes receive: scoped progress and notes, spans for branches, and nested
 * runs that continue where they stopped. Built per node execution by the run shell.
 */
import type { Clock } from "../clock.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import type { ConflictPolicy } from "../graph/merge-branches.js";
import type {
  BranchRuntime,
  ChildResult,
  NodeNotes,
  NodeRuntime,
  SpanAttributes,
} from "../graph/node-runtime.js";
import type { StateDefinition } from "../graph/state.js";
import type { Logger } from "../logger.js";
import { SpanNames } from "../telemetry/attributes.js";
import { tracedGenerate } from "../telemetry/traced-generate.js";
import type { SpanHandle, TrellisTracer } from "../telemetry/tracing.js";
import type { RunControl } from "./run-control.js";

/** One node execution, as the factory sees it. */
export interface RuntimeSpec {
  /** The node's name in its graph. */
  readonly node: string;
  /** The node's path (`review`, or `outer/review` inside a nested graph). */
  readonly path: string;
  readonly span: SpanHandle;
  /** What the node saved in the run this one continues. */
  readonly progress: readonly unknown[];
  readonly run: {
    readonly control: RunControl | undefined;
    /** The nodes on the running graph's path (a nested run may hand a `go_back` up to it). */
    readonly path: NodeSet;
  };
  saveProgress(data: unknown): Promise<void>;
  note(notes: NodeNotes): void;
}

/** Nodes that can be asked about: a run's path. */
export interface NodeSet {
  includes(node: string): boolean;
}

const NO_NODES: NodeSet = { includes: () => false };

/** Builds the runtime of one node execution. */
export type NodeRuntimeFactory = (spec: RuntimeSpec) => NodeRuntime;

/** What a nested run needs from the node that starts it. */
export interface ChildStart<C extends Record<string, unknown>> {
  readonly graph: CompiledGraph<C>;
  /** The child's checkpoint thread and node-path prefix. */
  readonly thread: string;
  readonly input: () => unknown;
  readonly signal: AbortSignal | undefined;
  readonly parentSpan: SpanHandle;
  /** Progress the node saved (the child run it started, to resume). */
  readonly progress: readonly unknown[];
  saveProgress(data: unknown): Promise<void>;
  /** The parent's control, when interrupts reach this child (not inside parallel branches). */
  readonly control: RunControl | undefined;
  readonly parentPath: NodeSet;
}

/** What the factory needs from the run shell. */
export interface RuntimeEnvironment {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly state: StateDefinition<Record<string, unknown>>;
  readonly conflicts: ConflictPolicy;
  readonly tracer: TrellisTracer;
  runChild<C extends Record<string, unknown>>(start: ChildStart<C>): Promise<ChildResult<C>>;
}

/** One branch's progress entry, as the group's own progress keeps it. */
interface InnerProgress {
  readonly inner: string;
  readonly data: unknown;
}

const isInner = (entry: unknown): entry is InnerProgress =>
  typeof entry === "object" && entry !== null && "inner" in entry;
const notInner = (entry: unknown) => !isInner(entry);

/** The factory of node runtimes for one run. */
export function runtimeFactory(env: RuntimeEnvironment): NodeRuntimeFactory {
  return (spec) =>
    makeRuntime(env, {
      thread: spec.path,
      span: spec.span,
      progress: spec.progress,
      saveProgress: spec.saveProgress,
      note: spec.note,
      control: spec.run.control,
      parentPath: spec.run.path,
    });
}

interface Scope {
  readonly thread: string;
  readonly span: SpanHandle;
  readonly progress: readonly unknown[];
  saveProgress(data: unknown): Promise<void>;
  note(notes: NodeNotes): void;
  readonly control: RunControl | undefined;
  readonly parentPath: NodeSet;
}

/**
 * The runtime's functions are method definitions, not arrow properties: one runtime is made per
 * node execution, and under tsx (esbuild's `keepNames`) every named arrow made costs a call
 * that defines its `name` (see `Run#context`). They use no `this`, so a node may take them off
 * the runtime and call them alone.
 */
function makeRuntime(env: RuntimeEnvironment, scope: Scope): NodeRuntime {
  return {
    clock: env.clock,
    logger: env.logger,
    state: env.state,
    conflicts: env.conflicts,
    progress: scope.progress.length === 0 ? scope.progress : scope.progress.filter(notInner),
    saveProgress: scope.saveProgress,
    note: scope.note,
    event(name, attributes) {
      scope.span.addEvent(name, attributes as () => Record<string, string>);
    },
    attributes(attributes) {
      scope.span.setAttributes(attributes as () => Record<string, string>);
    },
    generate(model, request, signal) {
      return tracedGenerate(model, request, {
        tracer: env.tracer,
        parent: scope.span.context,
        ...(signal === undefined ? {} : { signal }),
      });
    },
    branch(name, attributes) {
      return makeBranch(env, scope, name, attributes);
    },
    runChild(graph, input, signal?: AbortSignal) {
      return env.runChild({
        graph,
        thread: scope.thread,
        input,
        signal,
        parentSpan: scope.span,
        progress: scope.progress.filter(notInner),
        saveProgress: scope.saveProgress,
        control: scope.control,
        parentPath: scope.parentPath,
      });
    },
  };
}

function makeBranch(
  env: RuntimeEnvironment,
  parent: Scope,
  name: string,
  attributes: () => SpanAttributes,
): BranchRuntime {
  const span = env.tracer.startSpan(SpanNames.branch(name), {
    parent: parent.span.context,
    attributes: attributes as () => Record<string, string>,
  });
  const runtime = makeRuntime(env, {
    thread: `${parent.thread}/${name}`,
    span,
    progress:
      parent.progress.length === 0
        ? parent.progress
        : parent.progress
            .filter((e) => isInner(e) && e.inner === name)
            .map((e) => (e as InnerProgress).data),
    saveProgress: (data) => parent.saveProgress({ inner: name, data } satisfies InnerProgress),
    note: (notes) => parent.note({ branches: { [name]: notes } }),
    // Interrupts do not reach runs nested inside parallel branches.
    control: undefined,
    parentPath: NO_NODES,
  });
  // The branch's methods go onto the runtime just made for it: spreading that runtime into a
  // new object cost more than a trivial branch's own work (a group makes one per branch).
  const branch = runtime as { -readonly [K in keyof BranchRuntime]: BranchRuntime[K] };
  branch.runInSpan = (fn) => span.runInContext(fn);
  branch.end = (attrs) => span.end(attrs as Record<string, string> | undefined);
  branch.endWithError = (error, attrs) =>
    span.endWithError(
      error,
      attrs === undefined ? {} : { attributes: attrs as Record<string, string> },
    );
  return branch;
}
