import { diag, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  InMemorySpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InvalidOptionError, TelemetryConflictError } from "../errors.js";
import type { Logger } from "../logger.js";
import { resolveTracesUrl, type SetupTelemetryOptions, setupTelemetry } from "./setup-telemetry.js";
import { TrellisTracer } from "./tracing.js";

function recordingLogger() {
  const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() } satisfies Logger;
  return logger;
}

const handles: Array<{ shutdown(): Promise<void> }> = [];
afterEach(async () => {
  for (const handle of handles.splice(0)) await handle.shutdown();
  trace.disable();
  vi.unstubAllEnvs();
});

async function setup(options: SetupTelemetryOptions) {
  const handle = await setupTelemetry(options);
  handles.push(handle);
  return handle;
}

describe("setupTelemetry", () => {
  it("registers a global provider whose spans land in the memory exporter", async () => {
    const telemetry = await setup({
      exporter: "memory",
      serviceName: "reviews",
      serviceVersion: "1.2.3",
    });
    expect(telemetry.memory).toBeInstanceOf(InMemorySpanExporter);
    expect(new TrellisTracer().enabled).toBe(true);

    const tracer = trace.getTracer("test");
    tracer.startActiveSpan("outer", (outer) => {
      tracer.startSpan("inner").end();
      outer.end();
    });
    const spans = telemetry.memory!.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(["inner", "outer"]);
    expect(spans[0]?.parentSpanContext?.spanId).toBe(spans[1]?.spanContext().spanId);
    expect(spans[0]?.resource.attributes["service.name"]).toBe("reviews");
    expect(spans[0]?.resource.attributes["service.version"]).toBe("1.2.3");
    expect(spans[0]?.resource.attributes["telemetry.distro.name"]).toBe("trellis");
  });

  it("names the service `trellis` unless OTEL_SERVICE_NAME says otherwise", async () => {
    const first = await setup({ exporter: "memory", diagnostics: false });
    trace.getTracer("t").startSpan("a").end();
    expect(first.memory!.getFinishedSpans()[0]?.resource.attributes["service.name"]).toBe(
      "trellis",
    );
    await first.shutdown();

    vi.stubEnv("OTEL_SERVICE_NAME", "from-env");
    const second = await setup({ exporter: "memory", diagnostics: false });
    trace.getTracer("t").startSpan("b").end();
    expect(second.memory!.getFinishedSpans()[0]?.resource.attributes["service.name"]).toBe(
      "from-env",
    );
  });

  it("unregisters on shutdown, so Trellis spans cost nothing again", async () => {
    const telemetry = await setup({ exporter: "memory" });
    await telemetry.shutdown();
    await telemetry.shutdown();
    expect(new TrellisTracer().enabled).toBe(false);
  });

  it("replaces a previous setup with a warning instead of registering two providers", async () => {
    const logger = recordingLogger();
    const first = await setup({ exporter: "memory", logger });
    trace.getTracer("t").startSpan("before").end();
    expect(first.memory!.getFinishedSpans()).toHaveLength(1);

    const second = await setup({ exporter: "memory", logger });
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining("called again"));
    trace.getTracer("t").startSpan("after").end();
    expect(second.memory!.getFinishedSpans().map((s) => s.name)).toEqual(["after"]);
    // The first exporter was shut down (and forgot its spans).
    expect(first.memory!.getFinishedSpans()).toEqual([]);
  });

  it("serialises concurrent calls so only the last one stays registered", async () => {
    const logger = recordingLogger();
    const [a, b] = await Promise.all([
      setup({ exporter: "memory", logger }),
      setup({ exporter: "memory", logger }),
    ]);
    trace.getTracer("t").startSpan("x").end();
    expect(a.memory!.getFinishedSpans()).toHaveLength(0);
    expect(b.memory!.getFinishedSpans()).toHaveLength(1);
  });

  it("refuses to run beside a provider it did not register", async () => {
    const foreign = new BasicTracerProvider();
    trace.setGlobalTracerProvider(foreign);
    await expect(setupTelemetry({ exporter: "memory" })).rejects.toBeInstanceOf(
      TelemetryConflictError,
    );
    await foreign.shutdown();
  });

  it("forwards OpenTelemetry's own warnings to the logger until shutdown", async () => {
    const logger = recordingLogger();
    const telemetry = await setup({ exporter: "memory", logger });
    diag.warn("export failed", "ECONNREFUSED");
    expect(logger.warn).toHaveBeenCalledWith("OpenTelemetry: export failed", {
      details: ["ECONNREFUSED"],
    });
    await telemetry.shutdown();
    logger.warn.mockClear();
    diag.warn("after shutdown");
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it("uses a console exporter on request", async () => {
    const telemetry = await setup({ exporter: "console", diagnostics: false });
    expect(telemetry.exporter).toBeInstanceOf(ConsoleSpanExporter);
    expect(telemetry.memory).toBeUndefined();
  });

  it("posts OTLP to <endpoint>/v1/traces", async () => {
    const telemetry = await setup({
      exporter: "otlp",
      endpoint: "http://127.0.0.1:1",
      diagnostics: false,
    });
    expect(telemetry.url).toBe("http://127.0.0.1:1/v1/traces");
  });

  it.each([
    ["options", undefined],
    ["exporter", {}],
    ["exporter", { exporter: "jaeger" }],
    ["endpoint", { exporter: "otlp", endpoint: "localhost:4318" }],
    ["endpoint", { exporter: "otlp", endpoint: "ftp://collector" }],
    ["endpoint", { exporter: "memory", endpoint: "http://localhost:4318" }],
    ["headers", { exporter: "otlp", headers: { "x-api-key": 42 } }],
    ["timeoutMs", { exporter: "otlp", timeoutMs: 0 }],
    ["serviceName", { exporter: "memory", serviceName: "" }],
    ["logger", { exporter: "memory", logger: console.log }],
    ["exportr", { exporter: "memory", exportr: "otlp" }],
  ])("rejects a bad `%s`", async (option, options) => {
    const error = await setupTelemetry(options as unknown as SetupTelemetryOptions).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
    expect((error as InvalidOptionError).message).toMatch(/^Expected `/);
  });
});

describe("resolveTracesUrl", () => {
  it("appends /v1/traces to a base URL and keeps a full one", () => {
    expect(resolveTracesUrl("http://localhost:4318")).toBe("http://localhost:4318/v1/traces");
    expect(resolveTracesUrl("http://localhost:4318/")).toBe("http://localhost:4318/v1/traces");
    expect(resolveTracesUrl("https://otel.example.com/v1/traces")).toBe(
      "https://otel.example.com/v1/traces",
    );
    expect(resolveTracesUrl("https://otel.example.com/tenant-a")).toBe(
      "https://otel.example.com/tenant-a/v1/traces",
    );
  });

  it("defaults to localhost:4318, or the OTLP environment variables", () => {
    vi.stubEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "");
    vi.stubEnv("OTEL_EXPORTER_OTLP_ENDPOINT", "");
    expect(resolveTracesUrl()).toBe("http://localhost:4318/v1/traces");
    vi.stubEnv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
    expect(resolveTracesUrl()).toBe("http://collector:4318/v1/traces");
    vi.stubEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom");
    expect(resolveTracesUrl()).toBe("http://traces:9999/custom");
    expect(resolveTracesUrl("http://explicit:4318")).toBe("http://explicit:4318/v1/traces");
  });
});
