import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { SpanKind, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SpanTreeNode, spanTree } from "../../src/entries/testing.js";
import { NodeExecutionError } from "../../src/errors.js";
import { Attr, SpanNames } from "../../src/telemetry/attributes.js";
import { setupTelemetry, type TelemetryHandle } from "../../src/telemetry/setup-telemetry.js";
import { linkFromTraceparent, TrellisTracer } from "../../src/telemetry/tracing.js";
import { approvedArticle, cancelledInside, failed, pausedAndResumed } from "./scenarios.js";

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** An OTLP/HTTP `AnyValue`. */
type AnyValue = {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values: AnyValue[] };
};
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: KeyValue[];
  events: { name: string; attributes: KeyValue[] }[];
  links: { traceId: string; spanId: string; attributes: KeyValue[] }[];
  status: { code?: number; message?: string };
}
interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: KeyValue[] };
    scopeSpans: { scope: { name: string; version?: string }; spans: OtlpSpan[] }[];
  }[];
}

function plain(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return value.arrayValue.values.map(plain);
  return undefined;
}

function attributes(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
}

describe("OTLP/HTTP export", () => {
  let server: Server;
  let endpoint: string;
  const received: Received[] = [];
  let telemetry: TelemetryHandle;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        let raw = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
        const text = raw.toString("utf8");
        received.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: req.headers["content-type"]?.includes("json") ? JSON.parse(text) : text,
        });
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await telemetry?.shutdown();
    trace.disable();
    server.close();
    await once(server, "close");
  });

  it("posts nested Trellis spans with attributes, links and the service resource", async () => {
    telemetry = await setupTelemetry({
      exporter: "otlp",
      endpoint,
      serviceName: "otlp-test",
      headers: { "x-api-key": "secret" },
      diagnostics: false,
    });
    expect(telemetry.url).toBe(`${endpoint}/v1/traces`);

    const tracer = new TrellisTracer();
    const previous = tracer.startSpan(SpanNames.workflow("review"), { root: true });
    const previousTraceparent = previous.traceparent();
    previous.end({ [Attr.RUN_STATUS]: "paused" });

    const link = linkFromTraceparent(previousTraceparent, { [Attr.SESSION_RESUMED_FROM]: "cp-7" });
    const run = tracer.startSpan(SpanNames.workflow("review"), {
      root: true,
      links: link === undefined ? [] : [link],
      attributes: {
        [Attr.OPERATION_NAME]: "invoke_workflow",
        [Attr.WORKFLOW_NAME]: "review",
        [Attr.CONVERSATION_ID]: "session-1",
        [Attr.SESSION_RESUMED_FROM]: "cp-7",
      },
    });
    const node = tracer.startSpan(SpanNames.agent("writer"), {
      parent: run.context,
      attributes: { [Attr.NODE]: "draft", [Attr.ITERATION]: 3, [Attr.AGENT_NAME]: "writer" },
    });
    const call = tracer.startSpan(SpanNames.modelCall("gemini-2.5-flash"), {
      parent: node.context,
      kind: SpanKind.CLIENT,
      attributes: { [Attr.PROVIDER_NAME]: "gcp.gemini", [Attr.REQUEST_MODEL]: "gemini-2.5-flash" },
    });
    call.end({ [Attr.USAGE_INPUT_TOKENS]: 120, [Attr.USAGE_OUTPUT_TOKENS]: 48 });
    node.addEvent("trellis.route", { [Attr.ROUTE_TARGETS]: ["review", "publish"] });
    node.endWithError(new NodeExecutionError("draft", 2, new Error("model refused")));
    run.end({ [Attr.RUN_STATUS]: "failed" });

    await telemetry.flush();

    expect(received.length).toBeGreaterThan(0);
    const first = received[0]!;
    expect(first.method).toBe("POST");
    expect(first.url).toBe("/v1/traces");
    expect(first.headers["content-type"]).toContain("application/json");
    expect(first.headers["x-api-key"]).toBe("secret");

    const requests = received.map((r) => r.body as OtlpRequest);
    const resourceSpans = requests.flatMap((r) => r.resourceSpans);
    expect(attributes(resourceSpans[0]?.resource.attributes)["service.name"]).toBe("otlp-test");
    const scopes = resourceSpans.flatMap((r) => r.scopeSpans);
    expect(new Set(scopes.map((s) => s.scope.name))).toEqual(new Set(["trellis"]));
    const spans = scopes.flatMap((s) => s.spans);
    expect(spans).toHaveLength(4);

    const byName = (name: string, nth = 0) => spans.filter((s) => s.name === name)[nth]!;
    const oldRoot = byName("invoke_workflow review", 0);
    const root = byName("invoke_workflow review", 1);
    const agent = byName("invoke_agent writer");
    const model = byName("chat gemini-2.5-flash");

    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.parentSpanId ?? "").toBe("");
    expect(agent.parentSpanId).toBe(root.spanId);
    expect(model.parentSpanId).toBe(agent.spanId);
    expect(new Set([root.traceId, agent.traceId, model.traceId]).size).toBe(1);
    expect(oldRoot.traceId).not.toBe(root.traceId);

    expect(attributes(root.attributes)).toMatchObject({
      "gen_ai.operation.name": "invoke_workflow",
      "gen_ai.workflow.name": "review",
      "gen_ai.conversation.id": "session-1",
      "trellis.run.status": "failed",
    });
    expect(root.links).toHaveLength(1);
    expect(root.links[0]?.traceId).toBe(oldRoot.traceId);
    expect(root.links[0]?.spanId).toBe(oldRoot.spanId);
    expect(attributes(root.links[0]?.attributes)).toEqual({
      "trellis.session.resumed_from": "cp-7",
    });

    expect(attributes(agent.attributes)).toMatchObject({
      "trellis.node": "draft",
      "trellis.iteration": 3,
      "error.type": "NODE_FAILED",
    });
    expect(agent.status.code).toBe(2);
    expect(agent.status.message).toContain("model refused");
    expect(agent.events.map((e) => e.name)).toEqual(["trellis.route", "exception"]);
    expect(attributes(agent.events[0]?.attributes)).toEqual({
      "trellis.route.targets": ["review", "publish"],
    });

    expect(model.kind).toBe(3); // SPAN_KIND_CLIENT in OTLP numbering
    expect(attributes(model.attributes)).toMatchObject({
      "gen_ai.provider.name": "gcp.gemini",
      "gen_ai.usage.input_tokens": 120,
      "gen_ai.usage.output_tokens": 48,
    });
  });
});

/**
 * The shape of a span tree without ids and times: what must survive the trip over OTLP.
 * Siblings are compared as a set (spans started in the same instant have no order).
 */
interface Shape {
  readonly name: string;
  readonly kind: string;
  readonly status: string;
  readonly attributes: string[];
  readonly events: string[];
  readonly links: number;
  readonly children: Shape[];
}

const KIND_NAMES = ["unspecified", "internal", "server", "client", "producer", "consumer"];
const STATUS_NAMES = ["unset", "ok", "error"];

function shapeOf(node: SpanTreeNode): Shape {
  return {
    name: node.name,
    kind: node.kind,
    status: node.status.code,
    attributes: Object.keys(node.attributes).sort(),
    events: node.events.map((e) => e.name),
    links: node.links.length,
    children: canonical(node.children.map(shapeOf)),
  };
}

function canonical(shapes: Shape[]): Shape[] {
  return shapes
    .map((shape) => [JSON.stringify(shape), shape] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, shape]) => shape);
}

/** The trees the receiver got, rebuilt from `parentSpanId`. */
function receivedShapes(spans: readonly OtlpSpan[]): Shape[] {
  const byParent = new Map<string, OtlpSpan[]>();
  const ids = new Set(spans.map((s) => s.spanId));
  const roots: OtlpSpan[] = [];
  for (const span of spans) {
    const parent = span.parentSpanId ?? "";
    if (parent === "" || !ids.has(parent)) roots.push(span);
    else byParent.set(parent, [...(byParent.get(parent) ?? []), span]);
  }
  const shape = (span: OtlpSpan): Shape => ({
    name: span.name,
    kind: KIND_NAMES[span.kind] ?? String(span.kind),
    status: STATUS_NAMES[span.status.code ?? 0] ?? String(span.status.code),
    attributes: span.attributes.map((a) => a.key).sort(),
    events: span.events.map((e) => e.name),
    links: span.links.length,
    children: canonical((byParent.get(span.spanId) ?? []).map(shape)),
  });
  return canonical(roots.map(shape));
}

describe("OTLP/HTTP export of real runs", () => {
  let server: Server;
  let endpoint: string;
  const bodies: OtlpRequest[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        let raw = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
        bodies.push(JSON.parse(raw.toString("utf8")) as OtlpRequest);
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    trace.disable();
    server.close();
    await once(server, "close");
  });

  it("delivers the whole span tree of every run, as the in-process exporter sees it", async () => {
    const scenarios = async () => {
      await approvedArticle();
      await pausedAndResumed();
      await cancelledInside();
      await failed();
    };

    const memory = await setupTelemetry({ exporter: "memory" });
    await scenarios();
    const expected = canonical(spanTree(memory.memory!.getFinishedSpans()).map(shapeOf));
    await memory.shutdown();

    const otlp = await setupTelemetry({ exporter: "otlp", endpoint, diagnostics: false });
    await scenarios();
    await otlp.shutdown(); // the last batch goes out at shutdown

    const spans = bodies
      .flatMap((b) => b.resourceSpans)
      .flatMap((r) => r.scopeSpans)
      .flatMap((s) => s.spans);
    const received = receivedShapes(spans);
    // Ten runs: three of the article, three of the pausing graph, three cancelled, one failed
    // (nested graphs' runs nest inside their parents).
    expect(received).toHaveLength(10);
    expect(received).toEqual(expected);
    // Every span of a trace belongs to its root's trace.
    const traces = new Map(spans.map((s) => [s.spanId, s.traceId]));
    for (const span of spans) {
      if (span.parentSpanId) expect(traces.get(span.parentSpanId)).toBe(span.traceId);
    }
    expect(spans.length).toBeGreaterThan(80);
    // Values and links arrive too: the resumed article run links to the run it continues.
    const articles = spans.filter((s) => s.name === "invoke_workflow article-agent");
    expect(articles.map((a) => attributes(a.attributes)["trellis.run.status"])).toEqual([
      "paused",
      "paused",
      "completed",
    ]);
    expect(attributes(articles[2]!.attributes)["gen_ai.workflow.name"]).toBe("article-agent");
    expect(articles[2]!.links[0]?.spanId).toBe(articles[1]!.spanId);
    const group = spans.find((s) => s.name === "parallel check")!;
    expect(attributes(group.attributes)).toMatchObject({
      "trellis.branch.count": 3,
      "trellis.join": "n=2",
      "trellis.reducer": ["notes=append", "score=sum"],
    });
  });
});
