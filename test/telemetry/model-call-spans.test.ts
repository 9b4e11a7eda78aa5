import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findSpan, spanTree } from "../../src/entries/testing.js";
import { GraphAgent, silentLogger } from "../../src/index.js";
import { setupTelemetry, type TelemetryHandle } from "../../src/telemetry/setup-telemetry.js";
import { articleGraph, reasoned } from "./scenarios.js";

let global: TelemetryHandle;
beforeEach(async () => {
  global = await setupTelemetry({ exporter: "memory" });
});
afterEach(async () => {
  await global.shutdown();
});

describe("an agent node's chat span", () => {
  it("goes to the agent's own tracer provider, under its node, and nowhere with telemetry: false", async () => {
    const own = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(own)] });
    try {
      const graph = articleGraph();
      await new GraphAgent({
        graph,
        telemetry: { tracerProvider: provider },
        logger: silentLogger,
      }).run({});
      await new GraphAgent({ graph, telemetry: false, logger: silentLogger }).run({});
      await provider.forceFlush();
      await global.flush();
      expect(global.memory!.getFinishedSpans()).toEqual([]);
      const roots = spanTree(own.getFinishedSpans());
      expect(roots.map((r) => r.name)).toEqual(["invoke_workflow article"]);
      const writer = findSpan(roots, "invoke_agent writer");
      expect(writer?.children.map((c) => c.name)).toEqual(["chat scripted"]);
    } finally {
      await provider.shutdown();
    }
  });
});

describe("the model reasoner's chat span", () => {
  it("nests under the interrupt it decides, in the run's trace", async () => {
    const { reasonerCalls } = await reasoned();
    expect(reasonerCalls).toBe(1);
    await global.flush();
    const roots = spanTree(global.memory!.getFinishedSpans());
    expect(roots.map((r) => r.name)).toEqual(["invoke_workflow reasoning"]);
    const interrupt = findSpan(roots, "interrupt continue");
    const chat = interrupt?.children.find((c) => c.name === "chat reasoner-model");
    expect(chat?.kind).toBe("client");
    expect(chat?.traceId).toBe(roots[0]?.traceId);
    // Content is off by default: neither the prompt nor the answer is on the span.
    expect(chat?.attributes["gen_ai.input.messages"]).toBeUndefined();
    expect(JSON.stringify(roots)).not.toContain("secret plan");
  });

  it("nests under the run when the text is read on arrival, while a node runs", async () => {
    await reasoned(undefined, "while-running");
    await global.flush();
    const roots = spanTree(global.memory!.getFinishedSpans());
    expect(roots.map((r) => r.name)).toEqual(["invoke_workflow reasoning"]);
    const chat = findSpan(roots, "chat reasoner-model");
    expect(chat?.parentSpanId).toBe(roots[0]?.spanId);
    expect(findSpan(roots, "interrupt continue")).toBeDefined();
  });

  it.each(["before", "while-running"] as const)(
    "writes no span at all, not even an orphan chat root, with telemetry: false (text sent %s)",
    async (when) => {
      const { reasonerCalls } = await reasoned(false, when);
      expect(reasonerCalls).toBe(1);
      await global.flush();
      expect(global.memory!.getFinishedSpans().map((s) => s.name)).toEqual([]);
    },
  );

  it.each(["before", "while-running"] as const)(
    "sends the chat span to the agent's own tracer provider, in the run's one trace (text sent %s)",
    async (when) => {
      const own = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(own)] });
      try {
        await reasoned({ tracerProvider: provider }, when);
        await provider.forceFlush();
        expect(global.memory!.getFinishedSpans()).toEqual([]);
        const roots = spanTree(own.getFinishedSpans());
        expect(roots.map((r) => r.name)).toEqual(["invoke_workflow reasoning"]);
        const chat = findSpan(roots, "chat reasoner-model");
        expect(chat?.traceId).toBe(roots[0]?.traceId);
      } finally {
        await provider.shutdown();
      }
    },
  );

  it("records the prompt and the answer with recordContent", async () => {
    await reasoned({ recordContent: true });
    await global.flush();
    const chat = findSpan(spanTree(global.memory!.getFinishedSpans()), "chat reasoner-model");
    expect(String(chat?.attributes["gen_ai.input.messages"])).toContain("secret plan");
    expect(String(chat?.attributes["gen_ai.output.messages"])).toContain("continue");
    expect(String(chat?.attributes["gen_ai.system_instructions"]).length).toBeGreaterThan(0);
  });
});
