import type { Context } from "@opentelemetry/api";
import type { TrellisError } from "../errors.js";
import type { NodeDefinition } from "../graph/node.js";
import { MergedUpdate, type NodeNotes } from "../graph/node-runtime.js";
import type { RouteDecision } from "../graph/route.js";
import { type CheckpointRecord, recordPayload } from "../store/checkpoint-store.js";
import {
  GenAiAttributes,
  GenAiOperations,
  SpanNames,
  TrellisAttributes,
  TrellisEvents,
} from "../telemetry/attributes.js";
import { linkFromTraceparent, type SpanHandle, type TrellisTracer } from "../telemetry/tracing.js";
import type { ControlEvent } from "./run-control.js";
import type { RunStatus } from "./run-result.js";

/** Who a run is, for its root span. */
export interface RunIdentity {
  readonly graph: string;
  readonly agentName: string;
  readonly sessionId: string;
  readonly runId: string;
  readonly resumedFrom: string | null;
  /** The root span of the run this one continues (a W3C `traceparent`), for a span link. */
  readonly previousTraceparent: string | undefined;
  /** Parent context: the caller's active context, or a nested graph's node span. */
  readonly parent: Context | undefined;
  /** What a nested run's node names start with (`parent/`); `""` for a top-level run. */
  readonly prefix?: string;
}

/**
 * The spans of one run: the root `invoke_workflow {graph}`, one span per node execution
 * (`invoke_agent {name}` for agent nodes, `parallel {name}` for groups), checkpoint writes,
 * and routing decisions as span events. Costs next to nothing when no SDK is registered.
 */
export class RunTracing {
  readonly tracer: TrellisTracer;
  readonly #root: SpanHandle;
  readonly #enabled: boolean;
  readonly #prefix: string;

  constructor(tracer: TrellisTracer, run: RunIdentity) {
    this.tracer = tracer;
    this.#enabled = tracer.enabled;
    this.#prefix = run.prefix ?? "";
    const link = linkFromTraceparent(run.previousTraceparent, {
      [TrellisAttributes.LINK]: "resumed_from",
      ...(run.resumedFrom === null
        ? {}
        : { [TrellisAttributes.SESSION_RESUMED_FROM]: run.resumedFrom }),
    });
    this.#root = tracer.startSpan(SpanNames.workflow(run.agentName), {
      ...(run.parent === undefined ? {} : { parent: run.parent }),
      ...(link === undefined ? {} : { links: [link] }),
      attributes: () => ({
        [GenAiAttributes.OPERATION_NAME]: GenAiOperations.INVOKE_WORKFLOW,
        [GenAiAttributes.WORKFLOW_NAME]: run.agentName,
        [GenAiAttributes.AGENT_NAME]: run.agentName,
        [GenAiAttributes.CONVERSATION_ID]: run.sessionId,
        [TrellisAttributes.RUN_ID]: run.runId,
        [TrellisAttributes.GRAPH]: run.graph,
        ...(run.resumedFrom === null
          ? {}
          : { [TrellisAttributes.SESSION_RESUMED_FROM]: run.resumedFrom }),
      }),
    });
    if (run.resumedFrom !== null && this.#enabled) {
      this.#root.addEvent(TrellisEvents.RESUMED, {
        [TrellisAttributes.SESSION_RESUMED_FROM]: run.resumedFrom,
      });
    }
  }

  /** True when spans are recorded; callers skip building telemetry-only data otherwise. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** The root span's context: the parent of node spans. */
  get context(): Context {
    return this.#root.context;
  }

  /** The root span as a `traceparent`, kept in checkpoints so a resumed run can link to it. */
  traceparent(): string | undefined {
    return this.#enabled ? this.#root.traceparent() : undefined;
  }

  /** Starts the span of one node execution. */
  node<S>(
    name: string,
    definition: NodeDefinition<S>,
    iteration: number,
    parent?: Context,
  ): SpanHandle {
    const kind = definition.kind;
    const spanName =
      kind === "agent"
        ? SpanNames.agent(definition.agentName ?? name)
        : kind === "parallel"
          ? SpanNames.parallel(name)
          : SpanNames.node(name);
    return this.tracer.startSpan(spanName, {
      parent: parent ?? this.#root.context,
      // A method, not an arrow property: made for every node execution, and under tsx
      // (esbuild's `keepNames`) a named arrow costs a call that defines its `name`.
      attributes() {
        return {
          [TrellisAttributes.NODE]: name,
          [TrellisAttributes.NODE_KIND]: kind,
          [TrellisAttributes.ITERATION]: iteration,
          // The first attempt; a retry raises it to the attempt that finished.
          [TrellisAttributes.ATTEMPT]: 1,
          ...(kind === "agent"
            ? {
                [GenAiAttributes.OPERATION_NAME]: GenAiOperations.INVOKE_AGENT,
                [GenAiAttributes.AGENT_NAME]: definition.agentName ?? name,
                ...(definition.model
                  ? {
                      [GenAiAttributes.PROVIDER_NAME]: definition.model.provider,
                      [GenAiAttributes.REQUEST_MODEL]: definition.model.name,
                    }
                  : {}),
              }
            : {}),
        };
      },
    });
  }

  /** Starts a `checkpoint write` span; `undefined` when tracing is off. */
  checkpointStart(): SpanHandle | undefined {
    if (!this.#enabled) return undefined;
    return this.tracer.startSpan(SpanNames.checkpointWrite, { parent: this.#root.context });
  }

  /** Ends a `checkpoint write` span with what was written. */
  checkpointEnd(
    span: SpanHandle | undefined,
    record: CheckpointRecord | undefined,
    error?: unknown,
  ): void {
    if (!span) return;
    if (error !== undefined) {
      span.endWithError(error);
      return;
    }
    span.end(() =>
      record === undefined
        ? {}
        : {
            [TrellisAttributes.CHECKPOINT_ID]: record.id,
            [TrellisAttributes.CHECKPOINT_SEQ]: record.seq,
            [TrellisAttributes.CHECKPOINT_BYTES]: JSON.stringify(recordPayload(record)).length,
            [TrellisAttributes.CHECKPOINT_DELTA]: record.kind === "delta",
            // The node's path, as its node span names it.
            ...(record.node === null
              ? {}
              : { [TrellisAttributes.NODE]: this.#prefix + record.node }),
          },
    );
  }

  /** Records something that happened to the run as a whole (interrupt, pause, merge conflict). */
  event(
    name: string,
    attributes: () => Record<string, string | number | boolean | string[]>,
  ): void {
    if (this.#enabled) this.#root.addEvent(name, attributes);
  }

  /** Records the state the run starts from (only when content recording is on). */
  input(state: unknown): void {
    this.#root.setContent(TrellisAttributes.STATE_INPUT, state);
  }

  /** Ends the root span: `ERROR` for failures; the outcome in `trellis.run.status`. */
  finish(
    status: RunStatus,
    error: TrellisError | undefined,
    pathLength: number,
    state: unknown,
  ): void {
    this.#root.setContent(TrellisAttributes.STATE_OUTPUT, state);
    const attributes = () => ({
      [TrellisAttributes.RUN_STATUS]: status,
      [TrellisAttributes.PATH_LENGTH]: pathLength,
    });
    if (status === "failed" && error) this.#root.endWithError(error, { attributes });
    else this.#root.end(attributes);
  }
}

/**
 * Ends a node span with the route it chose as a span event, and the reducers its update went
 * through when `reducers` is given (nodes of a fan-out step, whose updates merge at the join).
 */
export function endNodeSpan(
  span: SpanHandle,
  decision: RouteDecision,
  annotations: NodeNotes | undefined,
  reducers?: () => Record<string, string[]>,
): void {
  if (!span.isRecording) {
    span.end();
    return;
  }
  if (reducers !== undefined) span.setAttributes(reducers);
  span.addEvent(TrellisEvents.ROUTE, () => ({
    [TrellisAttributes.ROUTE_REASON]: decision.reason,
    [TrellisAttributes.ROUTE_TARGETS]:
      decision.targets.length === 0 ? ["END"] : [...decision.targets],
    ...(decision.label === undefined ? {} : { [TrellisAttributes.ROUTE_LABEL]: decision.label }),
  }));
  const selected = annotations?.selected;
  span.end(
    typeof selected === "string" ? { [TrellisAttributes.DYNAMIC_SELECTED]: selected } : undefined,
  );
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * The `interrupt cancel` span of a cancel taken the moment it arrived (phase `arrival`): it
 * aborted the run (`trellis.interrupt.outcome = applied`), or arrived as the run was already
 * ending and is settled with the run's outcome (no `trellis.interrupt.outcome`).
 */
export function traceArrivedCancel(
  telemetry: { readonly tracer: TrellisTracer; readonly parent: Context },
  id: string,
  decided: { readonly source: string; readonly confidence?: number | undefined },
  abortedRun: boolean,
): void {
  if (!telemetry.tracer.enabled) return;
  telemetry.tracer
    .startSpan(SpanNames.interrupt("cancel"), {
      parent: telemetry.parent,
      attributes: () => ({
        [TrellisAttributes.INTERRUPT_ID]: id,
        [TrellisAttributes.INTERRUPT_PHASE]: "arrival",
        [TrellisAttributes.INTERRUPT_ACTION]: "cancel",
        [TrellisAttributes.INTERRUPT_SOURCE]: decided.source,
        ...(decided.confidence === undefined
          ? {}
          : { [TrellisAttributes.INTERRUPT_CONFIDENCE]: decided.confidence }),
      }),
    })
    .end(() =>
      abortedRun
        ? {
            [TrellisAttributes.INTERRUPT_OUTCOME]: "applied",
            [TrellisAttributes.DIRECTIVE]: "cancel",
          }
        : {},
    );
}

/** Span-event attributes for interrupt notifications. */
export function interruptAttributes(event: ControlEvent): Record<string, string | number> {
  switch (event.type) {
    case "interrupt:applied":
      return {
        [TrellisAttributes.INTERRUPT_ID]: event.id,
        [TrellisAttributes.INTERRUPT_ACTION]: event.action.type,
        [TrellisAttributes.INTERRUPT_SOURCE]: event.source,
        ...(event.confidence === undefined
          ? {}
          : { [TrellisAttributes.INTERRUPT_CONFIDENCE]: event.confidence }),
        ...(event.node === null ? {} : { [TrellisAttributes.NODE]: event.node }),
      };
    case "interrupt:refused":
      return {
        [TrellisAttributes.INTERRUPT_ID]: event.id,
        [GenAiAttributes.ERROR_TYPE]: event.error.code,
        ...(event.node === null ? {} : { [TrellisAttributes.NODE]: event.node }),
      };
  }
}

/** `trellis.reducer` of a node's update before it is applied: its keys with a non-`overwrite` reducer. */
export function updateReducerAttributes(
  state: { reducerOf(key: string): unknown },
  update: unknown,
): Record<string, string[]> {
  if (update === undefined || update === null || typeof update !== "object") return {};
  if (update instanceof MergedUpdate) return reducerAttributes(state, update.delta);
  return reducerAttributes(
    state,
    Object.keys(update).map((key) => [key] as const),
  );
}

/** `trellis.reducer` of a node: the keys its update changed through a non-`overwrite` reducer. */
export function reducerAttributes(
  state: { reducerOf(key: string): unknown },
  delta: readonly (readonly [string, ...unknown[]])[],
): Record<string, string[]> {
  const used: string[] = [];
  for (const [key] of delta) {
    const reducer = state.reducerOf(key);
    if (reducer === undefined || reducer === "overwrite") continue;
    used.push(`${key}=${typeof reducer === "function" ? "custom" : String(reducer)}`);
  }
  return used.length === 0 ? {} : { [TrellisAttributes.REDUCER]: used };
}
