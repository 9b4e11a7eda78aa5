/**
 * Benchmarks Trellis against a raw async loop and LangGraph.js.
 *
 *   npm run bench                         all scenarios
 *   npm run bench -- --only a,b           some scenarios
 *   npm run bench -- --json out.json      also write the results as JSON
 *   npm run bench -- --samples 9          more samples per implementation (default 7)
 *   npm run bench -- --quick              short warm-up and 3 samples (a smoke test)
 *   npm run bench -- --impl raw,trellis   only these implementations
 *   npm run bench -- --tsx                run the TypeScript through tsx instead of compiling
 *
 * Each scenario is a file in `bench/scenarios/`. The sources are compiled with tsc first and
 * every scenario runs in fresh child processes; this process only orchestrates.
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildForBench, removeBuild } from "./build.js";
import { loadScenarios } from "./discover.js";
import { runScenario } from "./harness.js";
import type { MeasureOptions } from "./measure.js";
import { toMarkdown } from "./report.js";
import type { ScenarioResult } from "./scenario.js";

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    impl: { type: "string" },
    json: { type: "string" },
    samples: { type: "string" },
    quick: { type: "boolean", default: false },
    tsx: { type: "boolean", default: false },
  },
});

const samples = values.samples === undefined ? undefined : Number(values.samples);
if (samples !== undefined && !(Number.isInteger(samples) && samples >= 1)) {
  throw new Error(
    `Expected \`--samples\` to be an integer from 1 and up, got \`${values.samples}\``,
  );
}
const options: MeasureOptions = values.quick
  ? { warmupMs: 200, warmupRuns: 1, samples: samples ?? 3, minSampleMs: 20 }
  : { warmupMs: 1_000, warmupRuns: 5, samples: samples ?? 7, minSampleMs: 100 };

const scenarios = await loadScenarios();
const only = values.only?.split(",").map((s) => s.trim());
const unknown = only?.filter((id) => !scenarios.some((s) => s.scenario.id === id)) ?? [];
if (unknown.length > 0) {
  throw new Error(
    `Unknown scenario ${unknown.map((u) => `\`${u}\``).join(", ")} in --only; known: ${scenarios.map((s) => s.scenario.id).join(", ")}`,
  );
}
const impls = values.impl?.split(",").map((s) => s.trim());

const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const loadAtStart = load();
process.stderr.write(`${machine}; load average ${loadAtStart}\n`);

const build = values.tsx ? undefined : buildForBench();
const child = build
  ? [join(build, "bench", "child.js")]
  : ["--import", import.meta.resolve("tsx"), fileURLToPath(new URL("./child.ts", import.meta.url))];

const results: ScenarioResult[] = [];
try {
  for (const entry of scenarios) {
    const { scenario } = entry;
    if (only && !only.includes(scenario.id)) continue;
    const selected = impls
      ? {
          ...entry,
          scenario: {
            ...scenario,
            implementations: scenario.implementations.filter((i) => impls.includes(i.name)),
          },
        }
      : entry;
    const started = Date.now();
    process.stderr.write(`(${scenario.id}) ${scenario.title} … `);
    results.push(await runScenario(selected, child, options));
    process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
} finally {
  if (build) removeBuild(build);
}

const loadAtEnd = load();
process.stderr.write(`Load average at the end: ${loadAtEnd}\n`);
process.stdout.write(`${toMarkdown(results)}\n`);
if (values.json) {
  const report = {
    machine,
    date: new Date().toISOString(),
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    compiled: !values.tsx,
    options,
    results,
  };
  writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`Wrote ${values.json}\n`);
}
