import { rawChain } from "../impl/raw.js";
import { trellisChain, trellisTracedChain } from "../impl/trellis.js";
import { raw, trellis } from "../implementations.js";
import { defineScenario } from "../scenario.js";

const options = { nodes: 1_000 };

/**
 * Tracing registers a global tracer provider and, on Node 20, `AsyncLocalStorage` promise
 * hooks that slow every promise in the process, so every variant runs in its own process.
 */
export default defineScenario({
  id: "g",
  title: "(a) with tracing on (OpenTelemetry SDK, in-memory exporter) vs no SDK",
  unit: "µs/step",
  isolate: true,
  implementations: [
    raw(() => rawChain({ ...options, checkpoints: false })),
    raw(async () => (await import("../impl/raw-traced.js")).rawTracedChain(options), {
      name: "raw+otel",
    }),
    trellis(() => trellisChain({ ...options, checkpoints: false })),
    trellis(() => trellisTracedChain(options), { name: "trellis+otel" }),
  ],
  ratios: [
    ["trellis", "raw"],
    ["trellis+otel", "trellis"],
    ["raw+otel", "raw"],
    ["trellis+otel", "raw+otel"],
  ],
});
