import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SpanTreeNode, spanTree } from "../../src/entries/testing.js";
import {
  type AgentsFactory,
  type AnyAgent,
  InterruptService,
  MemoryStore,
} from "../../src/index.js";
import { setupTelemetry, type TelemetryHandle } from "../../src/telemetry/setup-telemetry.js";

const samples = ["quickstart", "research", "router", "hitl-review", "steering", "tracing"] as const;

let telemetry: TelemetryHandle;
beforeAll(async () => {
  telemetry = await setupTelemetry({ exporter: "memory" });
});
afterAll(async () => {
  await telemetry.shutdown();
});

function walk(node: SpanTreeNode, visit: (span: SpanTreeNode) => void): void {
  visit(node);
  for (const child of node.children) walk(child, visit);
}

describe("sample traces", () => {
  it.each(samples)("%s: one root per run, every node execution a span under it", async (name) => {
    telemetry.memory!.reset();
    const mod = (await import(`../../samples/${name}/agents.ts`)) as {
      default: AgentsFactory;
      input: unknown;
    };
    const store = new MemoryStore();
    const built = await mod.default({ store, interrupts: new InterruptService({ store }) });
    const agent = (typeof built.run === "function" ? built : Object.values(built)[0]) as AnyAgent;
    const result = await agent.run(mod.input, { sessionId: `trace-${name}` });
    expect(["completed", "paused"]).toContain(result.status);
    await telemetry.flush();

    const roots = spanTree(telemetry.memory!.getFinishedSpans());
    // Nothing is orphaned: the run's root is the only root, and it is the workflow span.
    // The root is named after the agent (its name defaults to the graph's).
    expect(roots.map((r) => r.name)).toEqual([`invoke_workflow ${agent.name}`]);
    const root = roots[0]!;
    expect(root.attributes["gen_ai.conversation.id"]).toBe(`trace-${name}`);
    expect(root.attributes["trellis.run.status"]).toBe(result.status);

    // Every node on the path has its own span, directly under the root.
    const nodeSpans = root.children.filter((c) => c.attributes["trellis.node.kind"] !== undefined);
    expect(nodeSpans.map((s) => s.attributes["trellis.node"])).toEqual([...result.path]);

    // Every span of the trace belongs to the root's trace and has a parent inside it.
    const ids = new Set<string>();
    walk(root, (s) => ids.add(s.spanId));
    walk(root, (s) => {
      expect(s.traceId).toBe(root.traceId);
      if (s !== root) expect(ids.has(s.parentSpanId!)).toBe(true);
    });
  });
});
