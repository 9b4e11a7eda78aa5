import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, expectTypeOf, it } from "vitest";
import { type FinishedSpan, findSpan, findSpans, formatSpanTree, spanTree } from "./span-tree.js";

/** Spans of one run, started at fixed times so the order is certain. */
function sampleSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("test");
  const at = (ms: number) => new Date(1_700_000_000_000 + ms);
  const under = (span: ReturnType<typeof tracer.startSpan>) =>
    trace.setSpan(context.active(), span);

  const root = tracer.startSpan("invoke_workflow review", { startTime: at(0) });
  // Started later but ended first: children must still be ordered by start time.
  const review = tracer.startSpan(
    "node review",
    { startTime: at(20), attributes: { "trellis.iteration": 2 } },
    under(root),
  );
  const draft = tracer.startSpan(
    "node draft",
    { startTime: at(10), attributes: { "trellis.iteration": 1, "trellis.node": "draft" } },
    under(root),
  );
  const chat = tracer.startSpan(
    "chat scripted",
    { startTime: at(11), kind: SpanKind.CLIENT },
    under(draft),
  );
  chat.end(at(15));
  draft.addEvent("trellis.route", { "trellis.route.targets": ["review"] });
  draft.setStatus({ code: SpanStatusCode.OK });
  draft.end(at(18));
  review.setStatus({ code: SpanStatusCode.ERROR, message: "rejected" });
  review.end(at(25));
  const resumed = tracer.startSpan("invoke_workflow review", {
    startTime: at(100),
    root: true,
    links: [
      { context: root.spanContext(), attributes: { "trellis.session.resumed_from": "cp-2" } },
    ],
  });
  resumed.end(at(120));
  root.end(at(30));
  return exporter.getFinishedSpans();
}

describe("spanTree", () => {
  it("nests spans under their parents, ordered by start time", () => {
    const roots = spanTree(sampleSpans());
    expect(roots.map((r) => r.name)).toEqual(["invoke_workflow review", "invoke_workflow review"]);
    const [run] = roots;
    expect(run?.children.map((c) => c.name)).toEqual(["node draft", "node review"]);
    expect(run?.children[0]?.children.map((c) => c.name)).toEqual(["chat scripted"]);
    expect(run?.children[0]?.parentSpanId).toBe(run?.spanId);
    expect(run?.durationMs).toBe(30);
  });

  it("keeps status, kind, events and links in plain form", () => {
    const roots = spanTree(sampleSpans());
    const draft = findSpan(roots, "node draft")!;
    const review = findSpan(roots, "node review")!;
    const chat = findSpan(roots, "chat scripted")!;
    expect(draft.status).toEqual({ code: "ok" });
    expect(review.status).toEqual({ code: "error", message: "rejected" });
    expect(chat.status).toEqual({ code: "unset" });
    expect(chat.kind).toBe("client");
    expect(draft.events).toEqual([
      { name: "trellis.route", attributes: { "trellis.route.targets": ["review"] } },
    ]);
    const resumed = roots[1]!;
    expect(resumed.links).toEqual([
      {
        traceId: roots[0]!.traceId,
        spanId: roots[0]!.spanId,
        attributes: { "trellis.session.resumed_from": "cp-2" },
      },
    ]);
  });

  it("treats a span whose parent is missing as a root", () => {
    const spans = sampleSpans().filter((s) => s.name !== "invoke_workflow review");
    const roots = spanTree(spans);
    expect(roots.map((r) => r.name)).toEqual(["node draft", "node review"]);
  });

  it("takes the SDK's ReadableSpan without naming the SDK in its types", () => {
    expectTypeOf<ReadableSpan>().toExtend<FinishedSpan>();
  });

  it("returns nothing for no spans", () => {
    expect(spanTree([])).toEqual([]);
  });
});

describe("findSpan / findSpans", () => {
  it("finds by name, pattern or predicate, depth first", () => {
    const roots = spanTree(sampleSpans());
    expect(findSpan(roots, /^node /)?.name).toBe("node draft");
    expect(findSpan(roots, (n) => n.attributes["trellis.iteration"] === 2)?.name).toBe(
      "node review",
    );
    expect(findSpan(roots[0]!, "chat scripted")?.kind).toBe("client");
    expect(findSpan(roots, "missing")).toBeUndefined();
    expect(findSpans(roots, /^node /g).map((n) => n.name)).toEqual(["node draft", "node review"]);
    expect(findSpans(roots, "invoke_workflow review")).toHaveLength(2);
  });
});

describe("formatSpanTree", () => {
  it("renders one indented line per span, with chosen attributes and errors", () => {
    const text = formatSpanTree(spanTree(sampleSpans()), {
      attributes: ["trellis.iteration", "trellis.node"],
    });
    expect(text).toBe(
      [
        "invoke_workflow review",
        "  node draft {trellis.iteration=1, trellis.node=draft}",
        "    chat scripted",
        "  node review {trellis.iteration=2} [error: rejected]",
        "invoke_workflow review",
      ].join("\n"),
    );
  });

  it("can list events and use another indent", () => {
    const [run] = spanTree(sampleSpans());
    expect(formatSpanTree(run!, { events: true, indent: "- " })).toBe(
      [
        "invoke_workflow review",
        "- node draft",
        "- - · trellis.route",
        "- - chat scripted",
        "- node review [error: rejected]",
      ].join("\n"),
    );
  });
});
