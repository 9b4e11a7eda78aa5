import { barePostgresChain, trellisPostgresChain } from "../impl/durable.js";
import { langgraph, trellis } from "../implementations.js";
import {
  atLeastRatio,
  atMostRatio,
  defineScenario,
  format,
  type TargetResult,
} from "../scenario.js";

const NODES = 200;

export default defineScenario({
  id: "i",
  title: "Chain of 200 nodes, a PostgreSQL checkpoint after every node",
  unit: "µs/step",
  measure: { samples: 5 },
  implementations: [
    trellis(() => trellisPostgresChain(NODES, "step")),
    { name: "trellis durable", build: () => trellisPostgresChain(NODES, "step", "durable") },
    { name: "trellis exit", build: () => trellisPostgresChain(NODES, "exit") },
    { name: "floor", build: () => barePostgresChain(NODES) },
    { name: "floor no-wait", build: () => barePostgresChain(NODES, false) },
    langgraph(async () =>
      (await import("../impl/langgraph-durable.js")).langgraphPostgresChain(NODES),
    ),
  ],
  ratios: [
    ["trellis durable", "floor"],
    ["trellis", "floor no-wait"],
    ["langgraph", "trellis"],
    ["langgraph", "trellis durable"],
    ["trellis", "trellis exit"],
  ],
  targets: (r) => {
    const step = r.get("trellis")?.value;
    const exit = r.get("trellis exit")?.value;
    const exitGain: TargetResult = {
      label: '(i) what durability "exit" gains (reported, no target)',
      pass: null,
      detail:
        step === undefined || exit === undefined
          ? "not measured"
          : `${format(exit)} µs/step with one transaction per run vs ${format(step)} with one per step: ${format(step / exit)}× faster`,
    };
    const lg = r.get("langgraph")?.value;
    const floor = r.get("floor")?.value;
    const bound: TargetResult = {
      label: "(i) the most a store committing every step durably can gain here (reported)",
      pass: null,
      detail:
        lg === undefined || floor === undefined
          ? "not measured"
          : `LangGraph.js ÷ floor: ${format(lg)} vs ${format(floor)} µs/step, ${format(lg / floor)}×`,
    };
    return [
      atMostRatio(
        '(i) Trellis within 1.5× of one bare INSERT round trip per step (both wait for the disk: stepCommit "durable")',
        r,
        "trellis durable",
        "floor",
        1.5,
      ),
      atMostRatio(
        '(i) the same, neither waiting for the disk (Trellis\'s default stepCommit "fast" vs an INSERT with synchronous_commit = off)',
        r,
        "trellis",
        "floor no-wait",
        1.5,
      ),
      atLeastRatio(
        "(i) ≥ 10× faster than LangGraph.js + PostgresSaver (each with its defaults)",
        r,
        "langgraph",
        "trellis",
        10,
      ),
      bound,
      exitGain,
    ];
  },
});
