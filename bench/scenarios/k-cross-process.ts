import { crossProcessLatency, postgresCommitFloor } from "../impl/cross-process.js";
import {
  defineScenario,
  format,
  type ImplResult,
  type MeasureOptionsOverride,
  percentile,
  type TargetResult,
} from "../scenario.js";

/**
 * One sample per interrupt (no batching), so the samples are the latencies themselves. A
 * thousand of them make the p99 the tenth-highest sample, not the second as two hundred did,
 * where one slow disk flush moved it by milliseconds.
 */
const EACH: MeasureOptionsOverride = { warmupRuns: 10, warmupMs: 0, samples: 1000, minSampleMs: 0 };

function p99(
  r: ReadonlyMap<string, ImplResult>,
  name: string,
  label: string,
  limit: number | null,
): TargetResult {
  const samples = r.get(name)?.samples;
  if (samples === undefined || samples.length === 0)
    return { label, pass: null, detail: "not measured" };
  const p50 = percentile(samples, 50);
  const high = percentile(samples, 99);
  return {
    label,
    pass: limit === null ? null : high <= limit,
    detail: `p50 ${format(p50)} ms, p99 ${format(high)} ms, max ${format(Math.max(...samples))} ms over ${samples.length} interrupts${limit === null ? "" : ` (limit ${format(limit)} ms)`}`,
  };
}

export default defineScenario({
  id: "k",
  title:
    "Cross-process interrupt: approve sent in process A → applied at a waiting gate in process B",
  unit: "ms/run",
  implementations: [
    { name: "sqlite", alone: true, measure: EACH, build: () => crossProcessLatency("sqlite") },
    { name: "postgres", measure: EACH, build: () => crossProcessLatency("postgres") },
    { name: "postgres floor", measure: EACH, build: () => postgresCommitFloor() },
    {
      name: "postgres settled",
      measure: EACH,
      build: () => crossProcessLatency("postgres", "settled"),
    },
  ],
  ratios: [
    ["sqlite", "postgres"],
    ["postgres", "postgres floor"],
  ],
  targets: (r) => [
    p99(r, "postgres", "(k) PostgreSQL send → applied p99 ≤ 10 ms", 10),
    p99(r, "sqlite", "(k) SQLite send → applied p99 ≤ 50 ms", 50),
    p99(r, "postgres floor", "(k) PostgreSQL floor: one durable INSERT (reported)", null),
    p99(
      r,
      "postgres settled",
      "(k) PostgreSQL send → decision committed and the sender's receipt resolved (reported)",
      null,
    ),
  ],
});
