/**
 * Trace context across processes: a span context written as a W3C `traceparent` value (what a
 * checkpoint stores), read back, and turned into a span link (how a resumed run points at the
 * run it continues).
 */
import {
  type Attributes,
  isSpanContextValid,
  type Link,
  type SpanContext,
} from "@opentelemetry/api";

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
