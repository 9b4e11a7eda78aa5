import { createRequire } from "node:module";
import {
  type Attributes,
  type AttributeValue,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  type Link,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { InvalidOptionError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { GenAiAttributes } from "./attributes.js";

/** The version the `trellis` tracer reports (`otel.scope.version`). */
export const TRELLIS_VERSION: string = readVersion();

/** Name of the tracer every Trellis span comes from (`otel.scope.name`). */
export const TRACER_NAME = "trellis";

/** The span behind every handle started while tracing is off: records nothing. */
const DISABLED_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The delegate a `ProxyTracerProvider` returns while no SDK is registered. */
const NOOP_DELEGATE = new ProxyTracerProvider().getDelegate();

/** Attributes, or a function that builds them; the function only runs when the span records. */
export type AttributesInput = Attributes | (() => Attributes);

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

/** Options of {@link SpanHandle.endWithError}. */
export interface EndWithErrorOptions {
  /** `error.type`; default: the error's `code`, else its class name, else `_OTHER`. */
  readonly errorType?: string;
  /** Extra attributes set before the span ends. */
  readonly attributes?: AttributesInput;
  /** Record the error as an `exception` event. Default `true`. */
  readonly recordException?: boolean;
}

/** Writes telemetry failures to the logger, each distinct failure once. */
class FailureReporter {
  readonly #logger: Logger;
  readonly #seen = new Set<string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  report(operation: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const key = `${operation}: ${message}`;
    if (this.#seen.has(key)) return;
    if (this.#seen.size < 100) this.#seen.add(key);
    try {
      this.#logger.warn(`Telemetry failed in ${operation}; the run goes on without it.`, {
        error: message,
      });
    } catch {
      // A logger that throws must not break a run either.
    }
  }
}

/**
 * One span, wrapped so that nothing it does can throw into a run: every call to the
 * OpenTelemetry API is guarded and failures are logged. Ending twice is ignored.
 */
export class SpanHandle {
  readonly #span: Span;
  readonly #context: Context;
  readonly #reporter: FailureReporter | undefined;
  readonly #content: ContentPolicy | undefined;
  #childContext: Context | undefined;
  #ended = false;

  /** @internal Use {@link TrellisTracer.startSpan}. */
  constructor(
    span: Span,
    parent: Context,
    reporter: FailureReporter | undefined,
    content: ContentPolicy | undefined,
  ) {
    this.#span = span;
    this.#context = parent;
    this.#reporter = reporter;
    this.#content = content;
  }

  /** `false` when nothing is recorded (no SDK, sampled out, or already ended). */
  get isRecording(): boolean {
    if (this.#ended) return false;
    try {
      return this.#span.isRecording();
    } catch (error) {
      this.#reporter?.report("span.isRecording", error);
      return false;
    }
  }

  /** The span's ids; all zeros when no SDK is registered. */
  spanContext(): SpanContext {
    try {
      return this.#span.spanContext();
    } catch (error) {
      this.#reporter?.report("span.spanContext", error);
      return INVALID_SPAN_CONTEXT;
    }
  }

  /** A context whose active span is this one: pass it as `parent` of child spans. */
  get context(): Context {
    if (this.#span === DISABLED_SPAN) return this.#context;
    if (this.#childContext === undefined) {
      try {
        this.#childContext = trace.setSpan(this.#context, this.#span);
      } catch (error) {
        this.#reporter?.report("trace.setSpan", error);
        this.#childContext = this.#context;
      }
    }
    return this.#childContext;
  }

  /**
   * Runs `fn` with this span active, so spans created by code that reads the active context
   * (other instrumentations, the user's own spans) nest under it. Errors of `fn` propagate.
   */
  runInContext<T>(fn: () => T): T {
    if (this.#span === DISABLED_SPAN) return fn();
    let entered = false;
    try {
      return context.with(this.context, () => {
        entered = true;
        return fn();
      });
    } catch (error) {
      if (entered) throw error;
      this.#reporter?.report("context.with", error);
      return fn();
    }
  }

  /** Sets one attribute. */
  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (value === undefined || !this.isRecording) return this;
    try {
      this.#span.setAttribute(key, value);
    } catch (error) {
      this.#reporter?.report("span.setAttribute", error);
    }
    return this;
  }

  /** Sets attributes; a function is only called when the span records. */
  setAttributes(attributes: AttributesInput): this {
    if (!this.isRecording) return this;
    try {
      this.#span.setAttributes(typeof attributes === "function" ? attributes() : attributes);
    } catch (error) {
      this.#reporter?.report("span.setAttributes", error);
    }
    return this;
  }

  /**
   * Puts content (state, an update, messages, interrupt text) on the span as JSON — only when
   * the tracer was created with `recordContent: true` and the span records.
   */
  setContent(key: string, value: unknown): this {
    const content = this.#content;
    if (content === undefined || !this.isRecording) return this;
    try {
      this.#span.setAttribute(key, content.serialise(value));
    } catch (error) {
      this.#reporter?.report("span.setContent", error);
    }
    return this;
  }

  /** Adds an event (a point in time) to the span; a function is only called when it records. */
  addEvent(name: string, attributes?: AttributesInput): this {
    if (!this.isRecording) return this;
    try {
      this.#span.addEvent(name, typeof attributes === "function" ? attributes() : attributes);
    } catch (error) {
      this.#reporter?.report("span.addEvent", error);
    }
    return this;
  }

  /** Renames the span, e.g. `interrupt` → `interrupt go_back` once the action is known. */
  updateName(name: string): this {
    if (!this.isRecording) return this;
    try {
      this.#span.updateName(name);
    } catch (error) {
      this.#reporter?.report("span.updateName", error);
    }
    return this;
  }

  /** This span as a W3C `traceparent` header value; `undefined` when no SDK is registered. */
  traceparent(): string | undefined {
    return formatTraceparent(this.spanContext());
  }

  /** Ends the span, leaving its status unset. */
  end(attributes?: AttributesInput): void {
    this.#finish(undefined, attributes);
  }

  /** Marks the span OK and ends it. */
  endOk(attributes?: AttributesInput): void {
    this.#finish({ code: SpanStatusCode.OK }, attributes);
  }

  /**
   * Marks the span as failed and ends it: status `ERROR` with the error's message, `error.type`,
   * and an `exception` event.
   */
  endWithError(error: unknown, options: EndWithErrorOptions = {}): void {
    if (this.#ended) return;
    if (this.isRecording) {
      try {
        this.#span.setAttribute(GenAiAttributes.ERROR_TYPE, options.errorType ?? errorType(error));
        if (options.recordException !== false) this.#span.recordException(toException(error));
      } catch (failure) {
        this.#reporter?.report("span.recordException", failure);
      }
    }
    this.#finish({ code: SpanStatusCode.ERROR, message: errorMessage(error) }, options.attributes);
  }

  #finish(status: SpanStatus | undefined, attributes: AttributesInput | undefined): void {
    if (this.#ended) return;
    if (attributes !== undefined) this.setAttributes(attributes);
    this.#ended = true;
    try {
      if (status !== undefined) this.#span.setStatus(status);
      this.#span.end();
    } catch (error) {
      this.#reporter?.report("span.end", error);
    }
  }
}

/** Turns content into a bounded JSON string. */
class ContentPolicy {
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  serialise(value: unknown): string {
    let text: string;
    if (typeof value === "string") {
      text = value;
    } else {
      try {
        text = JSON.stringify(value, jsonReplacer) ?? String(value);
      } catch {
        text = "[unserialisable]";
      }
    }
    return text.length > this.#max ? `${text.slice(0, this.#max)}…` : text;
  }
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

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Writes a span context as a W3C `traceparent` value (`00-<trace id>-<span id>-<flags>`), the
 * form a checkpoint stores so a run resumed in another process can link to this one. Returns
 * `undefined` for an invalid (no-op) span context.
 */
export function formatTraceparent(spanContext: SpanContext): string | undefined {
  if (!isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, "0");
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * Reads a W3C `traceparent` value back into a (remote) span context. Returns `undefined` when the
 * value is malformed, uses the forbidden version `ff`, or carries all-zero ids.
 */
export function parseTraceparent(value: string): SpanContext | undefined {
  if (typeof value !== "string") return undefined;
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: Number.parseInt(flags!, 16) & 0x01,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/**
 * Turns a stored `traceparent` into a span link, e.g. from a resumed run's root span to the root
 * of the run it continues. Returns `undefined` when the value is missing or malformed.
 *
 * @example
 * ```ts
 * const link = linkFromTraceparent(checkpoint.traceparent, { [Attr.SESSION_RESUMED_FROM]: checkpoint.id });
 * tracer.startSpan(SpanNames.workflow(graph), { links: link ? [link] : [] });
 * ```
 */
export function linkFromTraceparent(
  value: string | null | undefined,
  attributes?: Attributes,
): Link | undefined {
  if (value === null || value === undefined) return undefined;
  const spanContext = parseTraceparent(value);
  if (spanContext === undefined) return undefined;
  return attributes === undefined ? { context: spanContext } : { context: spanContext, attributes };
}

/** `error.type` for an error: its `code` (Trellis errors), else its class name, else `_OTHER`. */
export function errorType(error: unknown): string {
  if (error !== null && typeof error === "object") {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === "string" && name !== "" && name !== "Error") return name;
    if (error instanceof Error) return error.constructor.name || "Error";
  }
  return "_OTHER";
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : String(error);
}

function toException(error: unknown): Error | string {
  return error instanceof Error || typeof error === "string" ? error : String(error);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
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
