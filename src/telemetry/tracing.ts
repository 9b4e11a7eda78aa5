/**
 * `TrellisTracer`: the tracer setup and its no-op path (no provider registered, or `disabled`:
 * handles that record nothing, at the cost of one check), and the entry of the tracing API:
 * it re-exports the span handle (`span-handle.ts`) and the traceparent helpers
 * (`traceparent.ts`) under their historical import path.
 */
import { createRequire } from "node:module";
import {
  type Context,
  context,
  type Link,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { InvalidOptionError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { ContentPolicy } from "./content-policy.js";
import { FailureReporter } from "./failure-reporter.js";
import { type AttributesInput, DISABLED_SPAN, SpanHandle } from "./span-handle.js";

export {
  type AttributesInput,
  type EndWithErrorOptions,
  errorType,
  SpanHandle,
} from "./span-handle.js";
export { formatTraceparent, linkFromTraceparent, parseTraceparent } from "./traceparent.js";

/** The version the `trellis` tracer reports (`otel.scope.version`). */
export const TRELLIS_VERSION: string = readVersion();

/** Name of the tracer every Trellis span comes from (`otel.scope.name`). */
export const TRACER_NAME = "trellis";

/** The delegate a `ProxyTracerProvider` returns while no SDK is registered. */
const NOOP_DELEGATE = new ProxyTracerProvider().getDelegate();

/** Options of {@link TrellisTracer}. */
export interface TrellisTracerOptions {
  /** Where telemetry failures are written. Default: `consoleLogger`. */
  readonly logger?: Logger;
  /**
   * Put state, updates, messages and interrupt text on spans. Default `false`: these may hold
   * personal data, so they are only recorded when you opt in.
   */
  readonly recordContent?: boolean;
  /** Longest content attribute, in characters; longer JSON is cut and ends with `…`. Default 8192. */
  readonly maxContentLength?: number;
  /** Use this provider instead of the global one (tests, several SDKs in one process). */
  readonly tracerProvider?: TracerProvider;
  /** Record nothing, whatever provider is registered. Default `false`. */
  readonly disabled?: boolean;
}

/** Options of {@link TrellisTracer.startSpan}. */
export interface StartSpanOptions {
  /** Default `INTERNAL`; model calls use `CLIENT`. */
  readonly kind?: SpanKind;
  /** Attributes known at the start (samplers see them). */
  readonly attributes?: AttributesInput;
  /** Links to other spans, e.g. the run a resumed run continues (see {@link linkFromTraceparent}). */
  readonly links?: readonly Link[];
  /** The parent. Default: the active context (so a run nests under the caller's span). */
  readonly parent?: Context;
  /** Start a new trace, ignoring any parent. */
  readonly root?: boolean;
}

/**
 * The tracer the run loop uses. A thin layer over `trace.getTracer("trellis")` that never throws
 * into a run, costs next to nothing when no SDK is registered, and keeps content off spans unless
 * `recordContent` is on.
 *
 * @example
 * ```ts
 * const tracer = new TrellisTracer({ logger });
 * const run = tracer.startSpan(SpanNames.workflow("review"), {
 *   attributes: { [Attr.OPERATION_NAME]: "invoke_workflow", [Attr.WORKFLOW_NAME]: "review" },
 * });
 * const node = tracer.startSpan(SpanNames.node("draft"), { parent: run.context });
 * try {
 *   await node.runInContext(() => draft(state, ctx));
 *   node.endOk();
 * } catch (error) {
 *   node.endWithError(error);
 * }
 * run.end({ [Attr.RUN_STATUS]: "completed" });
 * ```
 */
export class TrellisTracer {
  readonly #reporter: FailureReporter;
  readonly #content: ContentPolicy | undefined;
  readonly #fixedProvider: TracerProvider | undefined;
  #provider: TracerProvider | undefined;
  readonly #disabled: boolean;
  #tracer: Tracer | undefined;

  /** @throws InvalidOptionError when `maxContentLength` is not a whole number from 1 and up. */
  constructor(options: TrellisTracerOptions = {}) {
    this.#reporter = new FailureReporter(options.logger ?? consoleLogger);
    const max = options.maxContentLength ?? 8192;
    if (!Number.isInteger(max) || max < 1) {
      throw new InvalidOptionError(
        "maxContentLength",
        "a whole number of characters from 1 and up",
        max,
      );
    }
    this.#content = options.recordContent === true ? new ContentPolicy(max) : undefined;
    this.#fixedProvider = options.tracerProvider;
    this.#disabled = options.disabled === true;
  }

  /** Whether content (state, messages, interrupt text) goes on spans. */
  get recordContent(): boolean {
    return this.#content !== undefined;
  }

  /**
   * `false` when no tracer provider is registered, so spans would record nothing. Cheap: check it
   * before building anything only telemetry needs.
   */
  get enabled(): boolean {
    if (this.#disabled) return false;
    if (this.#fixedProvider !== undefined) return true;
    try {
      return hasTracerProvider(trace.getTracerProvider());
    } catch (error) {
      this.#reporter.report("trace.getTracerProvider", error);
      return false;
    }
  }

  /** Starts a span. Never throws; returns a handle that records nothing when tracing is off. */
  startSpan(name: string, options: StartSpanOptions = {}): SpanHandle {
    if (!this.enabled) {
      return new SpanHandle(DISABLED_SPAN, options.parent ?? ROOT_CONTEXT, undefined, undefined);
    }
    const parent = options.parent ?? activeContext(this.#reporter);
    try {
      const tracer = this.#getTracer();
      const attributes = options.attributes;
      const span = tracer.startSpan(
        name,
        {
          kind: options.kind ?? SpanKind.INTERNAL,
          ...(attributes === undefined
            ? {}
            : { attributes: typeof attributes === "function" ? attributes() : attributes }),
          ...(options.links === undefined ? {} : { links: [...options.links] }),
          ...(options.root === true ? { root: true } : {}),
        },
        parent,
      );
      return new SpanHandle(span, parent, this.#reporter, this.#content);
    } catch (error) {
      this.#reporter.report("tracer.startSpan", error);
      return new SpanHandle(DISABLED_SPAN, parent, undefined, undefined);
    }
  }

  #getTracer(): Tracer {
    const provider = this.#fixedProvider ?? trace.getTracerProvider();
    if (this.#tracer === undefined || provider !== this.#provider) {
      this.#provider = provider;
      this.#tracer = provider.getTracer(TRACER_NAME, TRELLIS_VERSION);
    }
    return this.#tracer;
  }
}

/**
 * @internal Whether `provider` (usually the global one) leads to a real tracer provider rather
 * than the API's no-op one. Duck-typed, so it also holds when two copies of `@opentelemetry/api`
 * share the global registration.
 */
export function hasTracerProvider(provider: TracerProvider): boolean {
  if (provider instanceof ProxyTracerProvider) return provider.getDelegate() !== NOOP_DELEGATE;
  const getDelegate = (provider as { getDelegate?: unknown }).getDelegate;
  if (typeof getDelegate !== "function") return true;
  const delegate: unknown = getDelegate.call(provider);
  return !(
    delegate === NOOP_DELEGATE ||
    (delegate as { constructor?: { name?: unknown } } | undefined)?.constructor?.name ===
      "NoopTracerProvider"
  );
}

function activeContext(reporter: FailureReporter): Context {
  try {
    return context.active();
  } catch (error) {
    reporter.report("context.active", error);
    return ROOT_CONTEXT;
  }
}

function readVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const pkg: unknown = require("../../package.json");
    const version = (pkg as { version?: unknown }).version;
    return typeof version === "string" ? version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}
