import { rawChain } from "../impl/raw.js";
import { trellisChain } from "../impl/trellis.js";
import { langgraph, raw, trellis } from "../implementations.js";
import { atMost, defineScenario } from "../scenario.js";

const options = { nodes: 1_000, checkpoints: true };

export default defineScenario({
  id: "c",
  title: "Chain of 1,000 nodes, in-memory checkpoint after every node",
  unit: "µs/step",
  implementations: [
    raw(() => rawChain(options)),
    trellis(() => trellisChain(options)),
    langgraph(async () => (await import("../impl/langgraph.js")).langgraphChain(options)),
  ],
  targets: (r) => [atMost("(c) Trellis ≤ 20 µs/step", r.get("trellis")?.value, 20, "µs/step")],
});
