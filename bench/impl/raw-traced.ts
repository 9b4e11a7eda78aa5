/**
 * The raw loop with OpenTelemetry spans, the floor of tracing cost: the SDK registered the way
 * `setupTelemetry()` does it (`NodeTracerProvider`, in-memory exporter, simple processor), a
 * root span per run and an active child span around each node.
 */
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { type BenchState, chainNames, expectCount, type Runner } from "./runner.js";

/** A chain of `nodes` nodes, each adding one to `count`, one span per node. */
export function rawTracedChain(options: { nodes: number }): Runner {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  const tracer = trace.getTracer("bench");
  const names = chainNames(options.nodes);
  const nodes = names.map(() => (s: BenchState) => ({ count: s.count + 1 }));
  return {
    steps: options.nodes,
    run: () =>
      tracer.startActiveSpan("invoke_workflow chain", async (root) => {
        let state: BenchState = { count: 0, blob: "" };
        for (let i = 0; i < nodes.length; i++) {
          state = await tracer.startActiveSpan(`invoke_node ${names[i]}`, async (span) => {
            const next = { ...state, ...(await nodes[i]!(state)) };
            span.end();
            return next;
          });
        }
        root.end();
        expectCount(state.count, options.nodes, "raw+otel");
        const spans = exporter.getFinishedSpans().length;
        if (spans !== options.nodes + 1) throw new Error(`raw+otel: ${spans} spans`);
      }),
    async reset() {
      exporter.reset();
    },
    close: () => provider.shutdown(),
  };
}
