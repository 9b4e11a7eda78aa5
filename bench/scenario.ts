import type { Runner } from "./impl/runner.js";
import type { MeasureOptions } from "./measure.js";

/** Some of the measuring options. */
export type MeasureOptionsOverride = Partial<MeasureOptions>;

/** The unit a scenario reports in. */
export type Unit = "µs/step" | "µs/run" | "ms/run";

/** Returned by a builder whose feature the implementation does not have (yet). */
export interface Missing {
  readonly missing: string;
}

/** One implementation of a scenario's graph. */
export interface Implementation {
  /** `trellis`, `raw`, `langgraph`, or a variant such as `trellis+otel`. */
  readonly name: string;
  readonly build: () => Promise<Runner | Missing>;
  /**
   * A second workload measured in the same process, interleaved with this one, reported as
   * `reference` (for example (c) next to (d), to compare them without process noise).
   */
  readonly reference?: () => Promise<Runner>;
  /**
   * Run in a process of its own instead of beside the others. LangGraph.js needs this on
   * Node 20: its first run enables `AsyncLocalStorage`, whose promise hooks then slow every
   * promise in the process, other implementations included.
   */
  readonly alone?: boolean;
  /** Overrides of the measuring options for this implementation (a slow one needs fewer runs). */
  readonly measure?: MeasureOptionsOverride;
}

/** What one implementation measured. */
export interface ImplResult {
  readonly name: string;
  readonly status: "ok" | "missing" | "error";
  /** Why the implementation is missing or failed. */
  readonly note?: string;
  /** Median, in the scenario's unit. */
  readonly value?: number;
  readonly min?: number;
  readonly max?: number;
  readonly samples?: number[];
  readonly runsPerSample?: number;
  /** Checkpoint bytes one run stored. */
  readonly checkpointBytes?: number;
  /** Median of the reference workload, same unit. */
  readonly reference?: number;
  /** Peak RSS of the process that ran this implementation alone (isolated scenarios). */
  readonly peakRssMb?: number;
  /** RSS of that process before its graphs were built and run. */
  readonly startRssMb?: number;
}

/** A target checked against the numbers of this run. */
export interface TargetResult {
  readonly label: string;
  /** `null` when the numbers it needs are missing. */
  readonly pass: boolean | null;
  readonly detail: string;
}

/** A ratio of two implementations' medians, `of / to`. */
export interface RatioResult {
  readonly of: string;
  readonly to: string;
  readonly value: number | null;
}

/** Results of one scenario. */
export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly unit: Unit;
  readonly isolated: boolean;
  readonly referenceLabel?: string;
  readonly implementations: ImplResult[];
  readonly ratios: RatioResult[];
  readonly targets: TargetResult[];
}

/**
 * A benchmark scenario: one file in `bench/scenarios/` with this as its default export.
 * `bench/run.ts` finds it by itself. Every scenario runs in fresh child processes: one for
 * the implementations measured side by side, one for each implementation marked `alone`
 * (all of them when `isolate` is set).
 */
export interface Scenario {
  /** Short id used with `--only`, e.g. `a`. Scenarios run in id order. */
  readonly id: string;
  readonly title: string;
  readonly unit: Unit;
  /** Run every implementation in a process of its own and report each one's peak RSS. */
  readonly isolate?: boolean;
  readonly implementations: readonly Implementation[];
  /** Ratios to report; `[["trellis", "raw"], ["langgraph", "trellis"]]` by default. */
  readonly ratios?: readonly (readonly [string, string])[];
  /** Overrides of the measuring options, for slow scenarios. */
  readonly measure?: MeasureOptionsOverride;
  /** How the report names the implementations' `reference` workload, e.g. `(c) alongside`. */
  readonly referenceLabel?: string;
  /** Pass/fail checks against this scenario's results. */
  readonly targets?: (results: ReadonlyMap<string, ImplResult>) => TargetResult[];
}

/** Helper for scenario files: gives the object its type. */
export function defineScenario(scenario: Scenario): Scenario {
  return scenario;
}

/** `value ≤ limit`, or `null` when there is no value. */
export function atMost(
  label: string,
  value: number | undefined,
  limit: number,
  unit: string,
): TargetResult {
  if (value === undefined) return { label, pass: null, detail: "not measured" };
  const pass = value <= limit;
  return {
    label,
    pass,
    detail: `${format(value)} ${unit} vs ≤ ${format(limit)} ${unit} (${format(value / limit)}× the limit)`,
  };
}

/** Formats a number with three significant digits, without exponent notation for usual sizes. */
export function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

function ratioOf(
  results: ReadonlyMap<string, ImplResult>,
  of: string,
  to: string,
): { a: number; b: number } | undefined {
  const a = results.get(of)?.value;
  const b = results.get(to)?.value;
  return a === undefined || b === undefined || b <= 0 ? undefined : { a, b };
}

/** `of / to ≤ limit`, from two implementations' medians measured in this run. */
export function atMostRatio(
  label: string,
  results: ReadonlyMap<string, ImplResult>,
  of: string,
  to: string,
  limit: number,
): TargetResult {
  const r = ratioOf(results, of, to);
  if (r === undefined) return { label, pass: null, detail: "not measured" };
  const value = r.a / r.b;
  return {
    label,
    pass: value <= limit,
    detail: `${format(r.a)} vs ${format(r.b)}: ${format(value)}× (limit ${format(limit)}×)`,
  };
}

/** `of / to ≥ limit`: `to` is at least `limit` times faster than `of`. */
export function atLeastRatio(
  label: string,
  results: ReadonlyMap<string, ImplResult>,
  of: string,
  to: string,
  limit: number,
): TargetResult {
  const r = ratioOf(results, of, to);
  if (r === undefined) return { label, pass: null, detail: "not measured" };
  const value = r.a / r.b;
  return {
    label,
    pass: value >= limit,
    detail: `${format(r.a)} vs ${format(r.b)}: ${format(value)}× (at least ${format(limit)}×)`,
  };
}

/** The `p`-th percentile (0–100) of some values, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}
