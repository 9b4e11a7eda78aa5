import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { Runner } from "./impl/runner.js";

/** How long to warm up and how much to measure. */
export interface MeasureOptions {
  /** Warm-up lasts at least this long… */
  readonly warmupMs: number;
  /** …and at least this many runs. */
  readonly warmupRuns: number;
  /** Measured samples per implementation; the median is reported. */
  readonly samples: number;
  /** A sample repeats the run until it has lasted at least this long. */
  readonly minSampleMs: number;
}

/** Time statistics of one workload, in milliseconds per run. */
export interface RunTimes {
  /** Mean milliseconds per run of each sample. */
  readonly samples: number[];
  readonly median: number;
  readonly runsPerSample: number;
  readonly steps: number;
  /** Checkpoint bytes stored by one run, when the runner reports them. */
  readonly checkpointBytes: number | undefined;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median() needs at least one value");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Current resident set size of this process, in MiB. */
export function currentRssMb(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

/** Times one run; resetting the runner's store afterwards is not timed. */
async function timedRun(runner: Runner): Promise<{ ms: number; bytes: number | undefined }> {
  const start = performance.now();
  await runner.run();
  const elapsed = performance.now() - start;
  const ms = runner.ownTime?.() ?? elapsed;
  const bytes = await runner.checkpointBytes?.();
  await runner.reset?.();
  return { ms, bytes };
}

interface Slot {
  readonly runner: Runner;
  readonly options: MeasureOptions;
  batch: number;
  bytes: number | undefined;
  readonly samples: number[];
}

async function warmUp(slot: Slot): Promise<void> {
  const { warmupRuns, warmupMs, minSampleMs } = slot.options;
  const start = performance.now();
  let runs = 0;
  let busyMs = 0;
  while (runs < warmupRuns || performance.now() - start < warmupMs) {
    busyMs += (await timedRun(slot.runner)).ms;
    runs++;
  }
  slot.batch = runs === 0 ? 1 : Math.max(1, Math.ceil(minSampleMs / (busyMs / runs)));
}

/**
 * Takes one sample. No forced garbage collection between samples: a forced (memory-reducing)
 * GC shrinks the young generation, and the runs after it were measured 2–3× slower.
 */
async function takeSample(slot: Slot): Promise<void> {
  let total = 0;
  for (let i = 0; i < slot.batch; i++) {
    const { ms, bytes } = await timedRun(slot.runner);
    total += ms;
    slot.bytes = bytes;
  }
  slot.samples.push(total / slot.batch);
}

/**
 * Measures several runners side by side in this process: each is warmed up, then samples
 * are taken in rounds, one per runner per round, rotating the order every round so drift
 * (heat, GC pressure, JIT) spreads evenly over the runners.
 */
export async function measureRunners(
  entries: readonly { readonly runner: Runner; readonly options: MeasureOptions }[],
): Promise<RunTimes[]> {
  const slots: Slot[] = entries.map(({ runner, options }) => ({
    runner,
    options,
    batch: 1,
    bytes: undefined,
    samples: [],
  }));
  for (const slot of slots) await warmUp(slot);
  const rounds = Math.max(...slots.map((slot) => slot.options.samples));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[(round + i) % slots.length]!;
      if (slot.samples.length < slot.options.samples) await takeSample(slot);
    }
  }
  return slots.map((slot) => ({
    samples: slot.samples,
    median: median(slot.samples),
    runsPerSample: slot.batch,
    steps: slot.runner.steps,
    checkpointBytes: slot.bytes,
  }));
}

/**
 * Runs `node <args>` and parses the JSON the process prints on its last line of output.
 * Its stderr goes to ours.
 */
export function runNodeChild(args: readonly string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (code !== 0) {
        reject(new Error(`node ${args.join(" ")} exited with code ${code} (its error is above)`));
        return;
      }
      try {
        resolve(JSON.parse(last));
      } catch (error) {
        reject(
          new Error(`node ${args.join(" ")} printed no JSON result: ${last}`, { cause: error }),
        );
      }
    });
  });
}
