import { rawChain } from "../impl/raw.js";
import { trellisChain } from "../impl/trellis.js";
import { langgraph, raw, trellis } from "../implementations.js";
import { atMost, defineScenario } from "../scenario.js";

const NODES = 1_000;
const options = { nodes: NODES, checkpoints: false };

export default defineScenario({
  id: "a",
  title: "Chain of 1,000 trivial nodes, no checkpoints",
  unit: "µs/step",
  implementations: [
    raw(() => rawChain(options)),
    trellis(() => trellisChain(options)),
    langgraph(async () => (await import("../impl/langgraph.js")).langgraphChain(options)),
  ],
  targets: (r) => [atMost("(a) Trellis ≤ 5 µs/step", r.get("trellis")?.value, 5, "µs/step")],
});
