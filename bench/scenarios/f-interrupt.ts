import { rawInterrupt } from "../impl/raw.js";
import { trellisInterrupt } from "../impl/trellis.js";
import { langgraph, raw, trellis } from "../implementations.js";
import { atMost, defineScenario } from "../scenario.js";

export default defineScenario({
  id: "f",
  title: "Pause at a gate and resume (3 nodes, checkpoints on), one round trip",
  unit: "ms/run",
  implementations: [
    raw(() => rawInterrupt()),
    trellis(() => trellisInterrupt()),
    langgraph(async () => (await import("../impl/langgraph.js")).langgraphInterrupt(), {
      measure: { warmupRuns: 5, warmupMs: 500, samples: 5, minSampleMs: 100 },
    }),
  ],
  targets: (r) => [
    atMost(
      "(f) Trellis pause + resume round trip ≤ 0.2 ms",
      r.get("trellis")?.value,
      0.2,
      "ms/run",
    ),
  ],
  ratios: [
    ["trellis", "raw"],
    ["langgraph", "trellis"],
  ],
});
