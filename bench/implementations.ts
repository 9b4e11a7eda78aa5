import type { Runner } from "./impl/runner.js";
import type { Implementation, MeasureOptionsOverride, Missing } from "./scenario.js";

/**
 * LangGraph.js takes milliseconds per step, so a 1,000-step run lasts seconds: it gets one
 * warm-up run and three samples instead of the default, which keeps the suite to minutes.
 */
const LANGGRAPH_MEASURE: MeasureOptionsOverride = {
  warmupRuns: 1,
  warmupMs: 0,
  samples: 3,
  minSampleMs: 0,
};

type Build = () => Runner | Missing | Promise<Runner | Missing>;

/** The raw async loop, measured beside Trellis in one process. */
export function raw(build: Build, extra: Partial<Implementation> = {}): Implementation {
  return { name: "raw", build: async () => build(), ...extra };
}

/** Trellis, measured beside the raw loop in one process. */
export function trellis(build: Build, extra: Partial<Implementation> = {}): Implementation {
  return { name: "trellis", build: async () => build(), ...extra };
}

/** LangGraph.js, in a process of its own (see `Implementation.alone`), with fewer samples. */
export function langgraph(build: Build, extra: Partial<Implementation> = {}): Implementation {
  return {
    name: "langgraph",
    build: async () => build(),
    alone: true,
    measure: LANGGRAPH_MEASURE,
    ...extra,
  };
}
