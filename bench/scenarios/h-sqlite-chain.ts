import { bareSqliteChain, trellisSqliteChain } from "../impl/durable.js";
import { langgraph, trellis } from "../implementations.js";
import { atLeastRatio, atMost, atMostRatio, defineScenario } from "../scenario.js";

const NODES = 200;

export default defineScenario({
  id: "h",
  title: "Chain of 200 nodes, a SQLite checkpoint after every node",
  unit: "µs/step",
  implementations: [
    trellis(() => trellisSqliteChain(NODES)),
    { name: "floor", build: () => bareSqliteChain(NODES) },
    langgraph(async () =>
      (await import("../impl/langgraph-durable.js")).langgraphSqliteChain(NODES),
    ),
  ],
  ratios: [
    ["trellis", "floor"],
    ["langgraph", "trellis"],
  ],
  targets: (r) => [
    atMost("(h) Trellis + SqliteStore ≤ 40 µs/step", r.get("trellis")?.value, 40, "µs/step"),
    atMostRatio("(h) Trellis within 2× of a bare insert per step", r, "trellis", "floor", 2),
    atLeastRatio("(h) ≥ 30× faster than LangGraph.js + SqliteSaver", r, "langgraph", "trellis", 30),
  ],
});
