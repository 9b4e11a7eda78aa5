import { rawFanOut } from "../impl/raw.js";
import { trellisFanOut, trellisParallelGroup } from "../impl/trellis.js";
import { langgraph, raw, trellis } from "../implementations.js";
import { defineScenario } from "../scenario.js";

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
  ratios: [
    ["trellis", "raw"],
    ["trellis parallelGroup", "raw"],
    ["langgraph", "trellis"],
  ],
});
