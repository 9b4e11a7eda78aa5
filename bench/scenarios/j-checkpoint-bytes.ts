import { trellisSqliteChain } from "../impl/durable.js";
import type { MeasureOptionsOverride } from "../scenario.js";
import { defineScenario, format, type ImplResult, type TargetResult } from "../scenario.js";

const BLOB = 64 * 1024;
/** LangGraph's checkpoints grow with the graph: a 1,000-node run takes seconds. */
const FEW: MeasureOptionsOverride = { warmupRuns: 0, warmupMs: 0, samples: 2, minSampleMs: 0 };

const perStep = (r: ReadonlyMap<string, ImplResult>, name: string, steps: number) => {
  const bytes = r.get(name)?.checkpointBytes;
  return bytes === undefined ? undefined : bytes / steps;
};

function flat(
  r: ReadonlyMap<string, ImplResult>,
  label: string,
  small: string,
  large: string,
  limit: number | null,
): TargetResult {
  const a = perStep(r, small, 200);
  const b = perStep(r, large, 1_000);
  if (a === undefined || b === undefined) return { label, pass: null, detail: "not measured" };
  const ratio = b / a;
  return {
    label,
    pass: limit === null ? null : ratio <= limit,
    detail: `${format(a)} bytes/step at 200 nodes, ${format(b)} at 1,000: ${format(ratio)}×`,
  };
}

export default defineScenario({
  id: "j",
  title: "Checkpoint bytes per step against graph size (SQLite, 200 and 1,000 nodes)",
  unit: "µs/step",
  measure: { samples: 3 },
  implementations: [
    { name: "trellis-200", build: () => trellisSqliteChain(200) },
    { name: "trellis-1000", build: () => trellisSqliteChain(1_000) },
    { name: "trellis-1000+64KiB", build: () => trellisSqliteChain(1_000, "step", BLOB) },
    {
      name: "langgraph-200",
      alone: true,
      measure: FEW,
      build: async () => (await import("../impl/langgraph-durable.js")).langgraphSqliteChain(200),
    },
    {
      name: "langgraph-1000",
      alone: true,
      measure: FEW,
      build: async () => (await import("../impl/langgraph-durable.js")).langgraphSqliteChain(1_000),
    },
  ],
  ratios: [
    ["trellis-1000", "trellis-200"],
    ["langgraph-1000", "langgraph-200"],
    ["langgraph-1000", "trellis-1000"],
  ],
  targets: (r) => {
    const plain = perStep(r, "trellis-1000", 1_000);
    const blob = perStep(r, "trellis-1000+64KiB", 1_000);
    const once: TargetResult =
      plain === undefined || blob === undefined
        ? {
            label: "(j) an untouched 64 KiB string is stored once per run",
            pass: null,
            detail: "not measured",
          }
        : {
            label: "(j) an untouched 64 KiB string is stored once per run",
            pass: (blob - plain) * 1_000 < 2 * BLOB,
            detail: `${format(blob)} vs ${format(plain)} bytes/step: the string adds ${format(((blob - plain) * 1_000) / BLOB)}× its size per run (its one snapshot stands in for the plain run's smaller ones)`,
          };
    return [
      flat(
        r,
        "(j) Trellis bytes per step flat in graph size (≤ 1.1×)",
        "trellis-200",
        "trellis-1000",
        1.1,
      ),
      flat(
        r,
        "(j) LangGraph.js + SqliteSaver bytes per step (reported)",
        "langgraph-200",
        "langgraph-1000",
        null,
      ),
      once,
    ];
  },
});
