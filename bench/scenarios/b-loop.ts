import { rawLoop } from "../impl/raw.js";
import { trellisLoop } from "../impl/trellis.js";
import { langgraph, raw, trellis } from "../implementations.js";
import { atMost, defineScenario } from "../scenario.js";

const options = { iterations: 10_000, checkpoints: false };

export default defineScenario({
  id: "b",
  title: "One node looping 10,000 times through a conditional edge, no checkpoints",
  unit: "µs/step",
  implementations: [
    raw(() => rawLoop(options)),
    trellis(() => trellisLoop(options)),
    langgraph(async () => (await import("../impl/langgraph.js")).langgraphLoop(options)),
  ],
  targets: (r) => [atMost("(b) Trellis ≤ 5 µs/step", r.get("trellis")?.value, 5, "µs/step")],
});
