import { rawChain } from "../impl/raw.js";
import { trellisChain } from "../impl/trellis.js";
import { langgraph, raw, trellis } from "../implementations.js";
import { defineScenario, format, type ImplResult, type TargetResult } from "../scenario.js";

const NODES = 1_000;
const BLOB = 1024 * 1024;
const large = { nodes: NODES, checkpoints: true, blobBytes: BLOB };
/** (c)'s workload, measured in the same process as the reference for the 1.2× target. */
const small = { nodes: NODES, checkpoints: true };

function targets(r: ReadonlyMap<string, ImplResult>): TargetResult[] {
  const t = r.get("trellis");
  const ratio = t?.value !== undefined && t.reference ? t.value / t.reference : undefined;
  const bytes = t?.checkpointBytes;
  const limit = 2 * 1024 * 1024;
  return [
    {
      label: "(d) Trellis within 1.2× of (c)",
      pass: ratio === undefined ? null : ratio <= 1.2,
      detail:
        ratio === undefined
          ? "not measured"
          : `${format(t!.value!)} vs ${format(t!.reference!)} µs/step measured side by side: ${format(ratio)}×`,
    },
    {
      label: "(d) Trellis checkpoints < 2 MB per run",
      pass: bytes === undefined ? null : bytes < limit,
      detail:
        bytes === undefined
          ? "not measured"
          : `${format(bytes / 1024 / 1024)} MiB (${format(bytes)} bytes) per run`,
    },
  ];
}

export default defineScenario({
  id: "d",
  title: "Chain of 1,000 nodes, checkpoints, and a 1 MB string no node touches",
  unit: "µs/step",
  isolate: true,
  measure: { samples: 5 },
  referenceLabel: "(c) alongside",
  implementations: [
    raw(() => rawChain(large), { reference: async () => rawChain(small) }),
    trellis(() => trellisChain(large), { reference: async () => trellisChain(small) }),
    langgraph(async () => (await import("../impl/langgraph.js")).langgraphChain(large)),
  ],
  targets,
});
