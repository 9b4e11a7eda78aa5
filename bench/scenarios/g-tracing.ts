import { rawChain } from "../impl/raw.js";
import { trellisChain, trellisTracedChain } from "../impl/trellis.js";
import { raw, trellis } from "../implementations.js";
import { atMost, defineScenario, format } from "../scenario.js";

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
    trellis(() => trellisChain({ ...options, checkpoints: false, spans: false }), {
      name: "trellis-untraced",
    }),
    trellis(() => trellisChain({ ...options, checkpoints: false })),
    trellis(() => trellisTracedChain(options), { name: "trellis+otel" }),
  ],
  targets: (r) => {
    const plain = r.get("trellis")?.value;
    const untraced = r.get("trellis-untraced")?.value;
    const ratio = plain !== undefined && untraced !== undefined ? plain / untraced : undefined;
    return [
      {
        label: "(g) no SDK within 1.1× of the engine with spans off",
        pass: ratio === undefined ? null : ratio <= 1.1,
        detail:
          ratio === undefined
            ? "not measured"
            : `${format(plain!)} vs ${format(untraced!)} µs/step: ${format(ratio)}×`,
      },
      atMost("(g) tracing on ≤ 30 µs/step", r.get("trellis+otel")?.value, 30, "µs/step"),
    ];
  },
  ratios: [
    ["trellis", "trellis-untraced"],
    ["trellis", "raw"],
    ["trellis+otel", "trellis"],
    ["raw+otel", "raw"],
    ["trellis+otel", "raw+otel"],
  ],
});
