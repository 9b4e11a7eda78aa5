/**
 * What every benchmark implementation builds: one graph, ready to run many times.
 * `run()` is the only thing timed; everything else happens between timed runs.
 */
export interface Runner {
  /** Node executions in one run, the divisor for µs per step. */
  readonly steps: number;
  /** One complete run from a fresh input. Throws when the result is wrong. */
  run(): Promise<void>;
  /**
   * The last run's milliseconds, for a runner that times its runs itself: one that ends in
   * another process (see `cross-process.ts`). Others are timed around `run()`.
   */
  ownTime?(): number | undefined;
  /** Bytes of checkpoints stored by the last run (for runners that checkpoint). */
  checkpointBytes?(): number | Promise<number>;
  /** Drops what the last run stored, so every run starts from an empty store. Not timed. */
  reset?(): Promise<void>;
  /** Releases process-wide resources (tracer providers, …) once measuring is over. */
  close?(): Promise<void>;
}

/** The state every benchmark graph runs over. */
export interface BenchState {
  count: number;
  blob: string;
}

/** Checks a run's final count, so a broken implementation cannot post a fast time. */
export function expectCount(actual: unknown, expected: number, who: string): void {
  if (actual !== expected) {
    throw new Error(
      `${who}: expected count ${expected} at the end of the run, got ${String(actual)}`,
    );
  }
}

/** A string of `bytes` ASCII characters (so characters and UTF-8 bytes agree). */
export function makeBlob(bytes: number): string {
  return "x".repeat(bytes);
}

/** Node names of a chain: `n0` … `n{length-1}`. */
export function chainNames(length: number): string[] {
  return Array.from({ length }, (_, i) => `n${i}`);
}
