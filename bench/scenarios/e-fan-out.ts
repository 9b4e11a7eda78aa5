import { rawFanOut } from "../impl/raw.js";
import { trellisFanOut, trellisParallelGroup } from "../impl/trellis.js";
import { langgraph, raw, trellis } from "../implementations.js";
import { atMost, defineScenario } from "../scenario.js";

const options = { branches: 100 };

export default defineScenario({
  id: "e",
  title: "Fan-out to 100 branches and join, no checkpoints",
  unit: "ms/run",
  implementations: [
    raw(() => rawFanOut(options)),
    trellis(() => trellisFanOut(options)),
    trellis(() => trellisParallelGroup(options), { name: "trellis parallelGroup" }),
    langgraph(async () => (await import("../impl/langgraph.js")).langgraphFanOut(options), {
      measure: { warmupRuns: 5, warmupMs: 500, samples: 5, minSampleMs: 100 },
    }),
  ],
  targets: (r) => [
    atMost("(e) Trellis fan-out ≤ 1 ms/run", r.get("trellis")?.value, 1, "ms/run"),
    atMost(
      "(e) Trellis parallelGroup ≤ 1 ms/run",
      r.get("trellis parallelGroup")?.value,
      1,
      "ms/run",
    ),
  ],
  ratios: [
    ["trellis", "raw"],
    ["trellis parallelGroup", "raw"],
    ["langgraph", "trellis"],
  ],
});
