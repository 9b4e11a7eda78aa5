/**
 * `SpanHandle`: one span behind a surface that never throws into a run (every OpenTelemetry
 * call guarded, failures reported once), records nothing while tracing is off, and keeps
 * content off spans unless the tracer records content.
 */
import {
  type Attributes,
  type AttributeValue,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  type Span,
  type SpanContext,
  type SpanStatus,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { GenAiAttributes } from "./attributes.js";
import type { ContentPolicy } from "./content-policy.js";
import type { FailureReporter } from "./failure-reporter.js";
import { formatTraceparent } from "./traceparent.js";

/**
 * @internal The span behind every handle started while tracing is off: records nothing. One
 * shared object, so a handle checks `span === DISABLED_SPAN` instead of asking the API.
 */
export const DISABLED_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Attributes, or a function that builds them; the function only runs when the span records. */
export type AttributesInput = Attributes | (() => Attributes);

/** Options of {@link SpanHandle.endWithError}. */
export interface EndWithErrorOptions {
  /** `error.type`; default: the error's `code`, else its class name, else `_OTHER`. */
  readonly errorType?: string;
  /** Extra attributes set before the span ends. */
  readonly attributes?: AttributesInput;
  /** Record the error as an `exception` event. Default `true`. */
  readonly recordException?: boolean;
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
