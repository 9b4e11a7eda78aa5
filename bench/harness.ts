import type { ScenarioEntry } from "./discover.js";
import type { Runner } from "./impl/runner.js";
import {
  currentRssMb,
  type MeasureOptions,
  measureRunners,
  peakRssMb,
  type RunTimes,
  runNodeChild,
} from "./measure.js";
import type {
  Implementation,
  ImplResult,
  RatioResult,
  Scenario,
  ScenarioResult,
  Unit,
} from "./scenario.js";

const DEFAULT_RATIOS = [
  ["trellis", "raw"],
  ["langgraph", "trellis"],
] as const;

/** Converts milliseconds per run into the scenario's unit. */
function toUnit(msPerRun: number, steps: number, unit: Unit): number {
  if (unit === "µs/step") return (msPerRun * 1000) / steps;
  if (unit === "µs/run") return msPerRun * 1000;
  return msPerRun;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Prepared =
  | { readonly impl: Implementation; readonly runner: Runner; readonly reference?: Runner }
  | { readonly impl: Implementation; readonly result: ImplResult };

/** Builds an implementation and checks that one run succeeds before it is measured. */
async function prepare(impl: Implementation): Promise<Prepared> {
  try {
    const built = await impl.build();
    if ("missing" in built) {
      return { impl, result: { name: impl.name, status: "missing", note: built.missing } };
    }
    await built.run();
    await built.reset?.();
    if (!impl.reference) return { impl, runner: built };
    const reference = await impl.reference();
    await reference.run();
    await reference.reset?.();
    return { impl, runner: built, reference };
  } catch (error) {
    return { impl, result: { name: impl.name, status: "error", note: message(error) } };
  }
}

function summarize(name: string, times: RunTimes, unit: Unit, reference?: RunTimes): ImplResult {
  const samples = times.samples.map((ms) => toUnit(ms, times.steps, unit));
  return {
    name,
    status: "ok",
    value: toUnit(times.median, times.steps, unit),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
    runsPerSample: times.runsPerSample,
    ...(times.checkpointBytes === undefined ? {} : { checkpointBytes: times.checkpointBytes }),
    ...(reference ? { reference: toUnit(reference.median, reference.steps, unit) } : {}),
  };
}

/**
 * Measures the given implementations side by side in this process. Called by `child.ts`;
 * the parent process never measures, so nothing one scenario loads can slow another.
 */
export async function measureHere(
  scenario: Scenario,
  implementations: readonly Implementation[],
  defaults: MeasureOptions,
): Promise<ImplResult[]> {
  const startRssMb = currentRssMb();
  const prepared: Prepared[] = [];
  for (const impl of implementations) prepared.push(await prepare(impl));
  const entries: { runner: Runner; options: MeasureOptions }[] = [];
  for (const p of prepared) {
    if (!("runner" in p)) continue;
    const options = { ...defaults, ...scenario.measure, ...p.impl.measure };
    entries.push({ runner: p.runner, options });
    if (p.reference) entries.push({ runner: p.reference, options });
  }
  const times = entries.length > 0 ? await measureRunners(entries) : [];
  const results: ImplResult[] = [];
  let next = 0;
  for (const p of prepared) {
    if (!("runner" in p)) {
      results.push(p.result);
      continue;
    }
    const own = times[next++]!;
    const reference = p.reference ? times[next++] : undefined;
    results.push(summarize(p.impl.name, own, scenario.unit, reference));
    await p.runner.close?.();
    await p.reference?.close?.();
  }
  if (!scenario.isolate) return results;
  const peak = peakRssMb();
  return results.map((r) => (r.status === "ok" ? { ...r, peakRssMb: peak, startRssMb } : r));
}

/** Which implementations share a process: the others together, each `alone` one by itself. */
function processGroups(scenario: Scenario): Implementation[][] {
  const together = scenario.implementations.filter((i) => !(scenario.isolate || i.alone));
  const alone = scenario.implementations.filter((i) => scenario.isolate || i.alone);
  return [...(together.length > 0 ? [together] : []), ...alone.map((i) => [i])];
}

/**
 * Runs one scenario: one child process per group of implementations (`node ...child <file>
 * <names> <options>`, where `child` is the compiled `bench/child.js` or, through tsx, the
 * TypeScript). Results come back in the declared order.
 */
export async function runScenario(
  entry: ScenarioEntry,
  child: readonly string[],
  defaults: MeasureOptions,
): Promise<ScenarioResult> {
  const { scenario } = entry;
  const byName = new Map<string, ImplResult>();
  for (const group of processGroups(scenario)) {
    const names = group.map((i) => i.name);
    try {
      const args = [...child, entry.name, names.join(","), JSON.stringify(defaults)];
      const results = (await runNodeChild(args)) as ImplResult[];
      for (const result of results) byName.set(result.name, result);
    } catch (error) {
      for (const name of names) byName.set(name, { name, status: "error", note: message(error) });
    }
  }
  const implementations = scenario.implementations.map((i) => byName.get(i.name)!);
  return {
    id: scenario.id,
    title: scenario.title,
    unit: scenario.unit,
    isolated: scenario.isolate ?? false,
    ...(scenario.referenceLabel === undefined ? {} : { referenceLabel: scenario.referenceLabel }),
    implementations,
    ratios: ratios(scenario, byName),
    targets: scenario.targets?.(byName) ?? [],
  };
}

function ratios(scenario: Scenario, byName: ReadonlyMap<string, ImplResult>): RatioResult[] {
  return (scenario.ratios ?? DEFAULT_RATIOS).map(([of, to]) => {
    const a = byName.get(of)?.value;
    const b = byName.get(to)?.value;
    return { of, to, value: a !== undefined && b !== undefined && b > 0 ? a / b : null };
  });
}
