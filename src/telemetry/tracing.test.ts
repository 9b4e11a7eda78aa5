import {
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InvalidOptionError, NodeTimeoutError } from "../errors.js";
import type { Logger } from "../logger.js";
import { Attr, SpanNames } from "./attributes.js";
import {
  errorType,
  formatTraceparent,
  hasTracerProvider,
  linkFromTraceparent,
  parseTraceparent,
  TrellisTracer,
} from "./tracing.js";

function memoryProvider() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { exporter, provider };
}

function recordingLogger() {
  const warn = vi.fn();
  const logger: Logger = { debug: vi.fn(), info: vi.fn(), warn, error: vi.fn() };
  return { logger, warn };
}

afterEach(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

describe("TrellisTracer", () => {
  it("nests spans under the parent context it is given", () => {
    const { exporter, provider } = memoryProvider();
    const tracer = new TrellisTracer({ tracerProvider: provider });
    const run = tracer.startSpan(SpanNames.workflow("review"), {
      attributes: { [Attr.OPERATION_NAME]: "invoke_workflow", [Attr.WORKFLOW_NAME]: "review" },
    });
    const node = tracer.startSpan(SpanNames.node("draft"), {
      parent: run.context,
      attributes: () => ({ [Attr.NODE]: "draft", [Attr.ITERATION]: 1 }),
    });
    const call = tracer.startSpan(SpanNames.modelCall("gemini-2.5-flash"), {
      parent: node.context,
      kind: SpanKind.CLIENT,
    });
    call.end();
    node.endOk();
    run.end({ [Attr.RUN_STATUS]: "completed" });

    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((s) => [s.name, s]));
    const root = byName.get("invoke_workflow review")!;
    const child = byName.get("node draft")!;
    const model = byName.get("chat gemini-2.5-flash")!;
    expect(root.parentSpanContext).toBeUndefined();
    expect(child.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(model.parentSpanContext?.spanId).toBe(child.spanContext().spanId);
    expect(model.kind).toBe(SpanKind.CLIENT);
    expect(child.attributes).toEqual({ "trellis.node": "draft", "trellis.iteration": 1 });
    expect(root.attributes["trellis.run.status"]).toBe("completed");
    expect(child.status.code).toBe(SpanStatusCode.OK);
    expect(root.status.code).toBe(SpanStatusCode.UNSET);
    expect(root.instrumentationScope.name).toBe("trellis");
  });

  it("records a failure as status ERROR with error.type and an exception event", () => {
    const { exporter, provider } = memoryProvider();
    const tracer = new TrellisTracer({ tracerProvider: provider });
    const span = tracer.startSpan("node slow");
    span.endWithError(new NodeTimeoutError("slow", 50));
    const [finished] = exporter.getFinishedSpans();
    expect(finished?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: expect.stringContaining("did not finish within 50 ms"),
    });
    expect(finished?.attributes["error.type"]).toBe("NODE_TIMEOUT");
    expect(finished?.events.map((e) => e.name)).toEqual(["exception"]);
  });

  it("ignores a second end", () => {
    const { exporter, provider } = memoryProvider();
    const tracer = new TrellisTracer({ tracerProvider: provider });
    const span = tracer.startSpan("once");
    span.endOk();
    span.endWithError(new Error("late"));
    span.end();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    expect(exporter.getFinishedSpans()[0]?.status.code).toBe(SpanStatusCode.OK);
  });

  it("adds events and renames spans", () => {
    const { exporter, provider } = memoryProvider();
    const tracer = new TrellisTracer({ tracerProvider: provider });
    const span = tracer.startSpan(SpanNames.interrupt());
    span.addEvent("trellis.route", () => ({ [Attr.ROUTE_TARGETS]: ["a", "b"] }));
    span.updateName(SpanNames.interrupt("go_back"));
    span.end();
    const [finished] = exporter.getFinishedSpans();
    expect(finished?.name).toBe("interrupt go_back");
    expect(finished?.events[0]?.attributes).toEqual({ "trellis.route.targets": ["a", "b"] });
  });

  it("keeps content off spans unless recordContent is on", () => {
    const { exporter, provider } = memoryProvider();
    const off = new TrellisTracer({ tracerProvider: provider });
    const on = new TrellisTracer({
      tracerProvider: provider,
      recordContent: true,
      maxContentLength: 12,
    });
    expect(off.recordContent).toBe(false);
    expect(on.recordContent).toBe(true);
    const a = off.startSpan("off");
    a.setContent(Attr.STATE_INPUT, { secret: "x" });
    a.end();
    const b = on.startSpan("on");
    b.setContent(Attr.STATE_INPUT, { topic: "a long topic name" });
    b.end();
    const [spanOff, spanOn] = exporter.getFinishedSpans();
    expect(spanOff?.attributes).toEqual({});
    expect(spanOn?.attributes["trellis.state.input"]).toBe('{"topic":"a …');
  });

  it("rejects a content limit that is not a positive whole number", () => {
    expect(() => new TrellisTracer({ maxContentLength: 0 })).toThrow(InvalidOptionError);
    expect(() => new TrellisTracer({ maxContentLength: 1.5 })).toThrow(/maxContentLength/);
  });

  it("does nothing and builds no attributes while no SDK is registered", () => {
    const tracer = new TrellisTracer();
    expect(tracer.enabled).toBe(false);
    const build = vi.fn(() => ({ a: 1 }));
    const span = tracer.startSpan("x", { attributes: build });
    span.setAttributes(build);
    span.addEvent("e", build);
    span.setContent("k", "v");
    expect(build).not.toHaveBeenCalled();
    expect(span.isRecording).toBe(false);
    expect(span.traceparent()).toBeUndefined();
    expect(span.runInContext(() => 42)).toBe(42);
    span.endWithError(new Error("boom"));
  });

  it("follows the global provider as it is registered, disabled and replaced", () => {
    const tracer = new TrellisTracer();
    expect(tracer.enabled).toBe(false);

    const first = memoryProvider();
    trace.setGlobalTracerProvider(first.provider);
    expect(tracer.enabled).toBe(true);
    tracer.startSpan("first").end();

    trace.disable();
    expect(tracer.enabled).toBe(false);
    const second = memoryProvider();
    trace.setGlobalTracerProvider(second.provider);
    tracer.startSpan("second").end();

    expect(first.exporter.getFinishedSpans().map((s) => s.name)).toEqual(["first"]);
    expect(second.exporter.getFinishedSpans().map((s) => s.name)).toEqual(["second"]);
  });

  it("makes its span active inside runInContext, so other spans nest under it", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    provider.register();
    const tracer = new TrellisTracer();
    const node = tracer.startSpan("node draft");
    await node.runInContext(async () => {
      await Promise.resolve();
      trace.getTracer("user-code").startSpan("user span").end();
    });
    node.end();
    const user = exporter.getFinishedSpans().find((s) => s.name === "user span");
    expect(user?.parentSpanContext?.spanId).toBe(node.spanContext().spanId);
    await provider.shutdown();
  });

  it("uses the caller's active span as the parent of a run by default", () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    provider.register();
    const outer = trace.getTracer("app").startSpan("http request");
    const tracer = new TrellisTracer();
    context.with(trace.setSpan(context.active(), outer), () => {
      tracer.startSpan("invoke_workflow g").end();
      tracer.startSpan("fresh trace", { root: true }).end();
    });
    outer.end();
    const run = exporter.getFinishedSpans().find((s) => s.name === "invoke_workflow g");
    const fresh = exporter.getFinishedSpans().find((s) => s.name === "fresh trace");
    expect(run?.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(fresh?.parentSpanContext).toBeUndefined();
  });

  it("never throws into a run when the SDK throws, and logs each failure once", () => {
    const { logger, warn } = recordingLogger();
    const throwing = (): never => {
      throw new Error("exporter exploded");
    };
    const brokenTracer = { startSpan: throwing, startActiveSpan: throwing } as unknown as Tracer;
    const provider: TracerProvider = { getTracer: () => brokenTracer };
    const tracer = new TrellisTracer({ tracerProvider: provider, logger });
    const a = tracer.startSpan("a");
    const b = tracer.startSpan("b");
    expect(a.isRecording).toBe(false);
    b.end();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toContain("tracer.startSpan");
  });

  it("never throws when every span method throws, and still runs the code it wraps", () => {
    const { logger, warn } = recordingLogger();
    const throwing = (): never => {
      throw new Error("broken span");
    };
    const span = {
      isRecording: () => true,
      spanContext: throwing,
      setAttribute: throwing,
      setAttributes: throwing,
      addEvent: throwing,
      addLink: throwing,
      addLinks: throwing,
      setStatus: throwing,
      updateName: throwing,
      end: throwing,
      recordException: throwing,
    } as unknown as Span;
    const provider: TracerProvider = {
      getTracer: () => ({ startSpan: () => span }) as unknown as Tracer,
    };
    const tracer = new TrellisTracer({ tracerProvider: provider, logger, recordContent: true });
    const handle = tracer.startSpan("x");
    handle.setAttribute("a", 1).setAttributes({ b: 2 }).addEvent("e").updateName("y");
    handle.setContent("c", { d: 1 });
    expect(handle.traceparent()).toBeUndefined();
    expect(handle.runInContext(() => "ran")).toBe("ran");
    expect(() =>
      handle.runInContext(() => {
        throw new Error("user code failed");
      }),
    ).toThrow("user code failed");
    handle.endWithError(new Error("boom"));
    expect(warn).toHaveBeenCalled();
  });
});

describe("traceparent", () => {
  it("round-trips a span context through a traceparent string into a link", () => {
    const { exporter, provider } = memoryProvider();
    const tracer = new TrellisTracer({ tracerProvider: provider });
    const first = tracer.startSpan("invoke_workflow g");
    const stored = first.traceparent();
    first.end();
    expect(stored).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const link = linkFromTraceparent(stored, { [Attr.SESSION_RESUMED_FROM]: "cp-1" });
    const resumed = tracer.startSpan("invoke_workflow g", { links: link ? [link] : [] });
    resumed.end();
    const [, second] = exporter.getFinishedSpans();
    expect(second?.links).toHaveLength(1);
    expect(second?.links[0]?.context.traceId).toBe(first.spanContext().traceId);
    expect(second?.links[0]?.context.spanId).toBe(first.spanContext().spanId);
    expect(second?.links[0]?.attributes).toEqual({ "trellis.session.resumed_from": "cp-1" });
  });

  it("formats and parses the W3C form", () => {
    const value = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const parsed = parseTraceparent(value);
    expect(parsed).toEqual({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: 1,
      isRemote: true,
    });
    expect(formatTraceparent(parsed!)).toBe(value);
  });

  it.each([
    ["empty", ""],
    ["garbage", "not a traceparent"],
    ["version ff", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
    ["zero trace id", "00-00000000000000000000000000000000-b7ad6b7169203331-01"],
    ["zero span id", "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"],
    ["extra field on version 00", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x"],
    ["short span id", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01"],
  ])("rejects %s", (_label, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
    expect(linkFromTraceparent(value)).toBeUndefined();
  });

  it("accepts future versions with extra fields", () => {
    expect(
      parseTraceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"),
    ).toBeDefined();
  });

  it("has no link for a missing value", () => {
    expect(linkFromTraceparent(undefined)).toBeUndefined();
    expect(linkFromTraceparent(null)).toBeUndefined();
  });
});

describe("errorType", () => {
  it("prefers the error code, then the class name, then _OTHER", () => {
    expect(errorType(new NodeTimeoutError("n", 1))).toBe("NODE_TIMEOUT");
    expect(errorType(new TypeError("x"))).toBe("TypeError");
    class CustomFailure extends Error {}
    expect(errorType(new CustomFailure("x"))).toBe("CustomFailure");
    expect(errorType(new Error("x"))).toBe("Error");
    expect(errorType("text")).toBe("_OTHER");
    expect(errorType(undefined)).toBe("_OTHER");
  });
});

describe("hasTracerProvider", () => {
  it("sees through proxies, including ones from another copy of the API", () => {
    class NoopTracerProvider {
      getTracer(): never {
        throw new Error("unused");
      }
    }
    const foreignProxy = {
      getTracer: () => undefined,
      getDelegate: () => new NoopTracerProvider(),
    };
    const foreignProxyWithSdk = {
      getTracer: () => undefined,
      getDelegate: () => memoryProvider().provider,
    };
    expect(hasTracerProvider(foreignProxy as unknown as TracerProvider)).toBe(false);
    expect(hasTracerProvider(foreignProxyWithSdk as unknown as TracerProvider)).toBe(true);
    expect(hasTracerProvider(memoryProvider().provider)).toBe(true);
    expect(hasTracerProvider(trace.getTracerProvider())).toBe(false);
  });
});
