/**
 * The floor: a plain async loop over a table of nodes and edges, with nothing a framework
 * adds (no validation, events, spans or interrupts). With checkpoints it keeps an in-memory
 * log: the input state in full, then each node's update as JSON, which is enough to rebuild
 * the state after any step.
 */
import { type BenchState, chainNames, expectCount, makeBlob, type Runner } from "./runner.js";

const START = "__start__";
const END = "__end__";

type Update = Partial<BenchState>;
type NodeFn = (state: BenchState) => Update | Promise<Update>;
type Route = (state: BenchState) => string;

class RawGraph {
  readonly nodes = new Map<string, NodeFn>();
  readonly routes = new Map<string, Route>();
  /** Checkpoint log of the last run, when checkpointing. */
  log: string[] = [];

  constructor(readonly checkpoints: boolean) {}

  async run(input: BenchState): Promise<BenchState> {
    let state = { ...input };
    if (this.checkpoints) this.log.push(JSON.stringify(state));
    let current = this.routes.get(START)!(state);
    while (current !== END) {
      const update = await this.nodes.get(current)!(state);
      state = { ...state, ...update };
      if (this.checkpoints) this.log.push(JSON.stringify({ node: current, update }));
      current = this.routes.get(current)!(state);
    }
    return state;
  }
}

function runner(graph: RawGraph, steps: number, blobBytes: number, expected: number): Runner {
  const input: BenchState = { count: 0, blob: makeBlob(blobBytes) };
  return {
    steps,
    async run() {
      const state = await graph.run(input);
      expectCount(state.count, expected, "raw");
    },
    ...(graph.checkpoints
      ? {
          checkpointBytes: () => graph.log.reduce((sum, entry) => sum + entry.length, 0),
          async reset() {
            graph.log = [];
          },
        }
      : {}),
  };
}

const increment: NodeFn = (s) => ({ count: s.count + 1 });

/** A chain of `nodes` nodes, each adding one to `count`. */
export function rawChain(options: {
  nodes: number;
  checkpoints: boolean;
  blobBytes?: number;
}): Runner {
  const graph = new RawGraph(options.checkpoints);
  const names = chainNames(options.nodes);
  graph.routes.set(START, () => names[0]!);
  names.forEach((name, i) => {
    graph.nodes.set(name, increment);
    const next = names[i + 1] ?? END;
    graph.routes.set(name, () => next);
  });
  return runner(graph, options.nodes, options.blobBytes ?? 0, options.nodes);
}

/** One node that routes back to itself until `count` reaches `iterations`. */
export function rawLoop(options: { iterations: number; checkpoints: boolean }): Runner {
  const graph = new RawGraph(options.checkpoints);
  const n = options.iterations;
  graph.routes.set(START, () => "loop");
  graph.nodes.set("loop", increment);
  graph.routes.set("loop", (s) => (s.count < n ? "loop" : END));
  return runner(graph, n, 0, n);
}

/** Fan-out from `fork` to `branches` branches run with `Promise.all`, then a join. */
export function rawFanOut(options: { branches: number }): Runner {
  const names = Array.from({ length: options.branches }, (_, i) => `b${i}`);
  const branch = (name: string) => async (_s: FanState) => ({ results: [name] });
  const branches = names.map(branch);
  return {
    steps: options.branches + 2,
    async run() {
      let state: FanState = { count: 0, results: [] };
      state = { ...state, count: state.count + 1 }; // fork
      const updates = await Promise.all(branches.map((b) => b(state)));
      state = { ...state, results: state.results.concat(...updates.map((u) => u.results)) };
      state = { ...state, count: state.results.length }; // join
      expectCount(state.count, options.branches, "raw");
    },
  };
}

/** State of the fan-out graphs: `results` gathers one entry per branch. */
export interface FanState {
  count: number;
  results: string[];
}

/**
 * Pause and resume: `before` → `gate` (stops for a human answer) → `after`. `run()` runs until
 * the gate and stores the paused run as JSON (the least a durable pause needs), then parses
 * it back, resumes with an answer and runs to the end.
 */
export function rawInterrupt(): Runner {
  const paused = new Map<string, string>();
  const order = ["before", "gate", "after"];
  const nodes: Record<string, NodeFn> = { before: increment, gate: increment, after: increment };
  let bytes = 0;
  async function runFrom(id: string, state: BenchState, from: number, answer?: string) {
    for (let i = from; i < order.length; i++) {
      const name = order[i]!;
      if (name === "gate" && answer === undefined) {
        const saved = JSON.stringify({ state, next: name });
        bytes += saved.length;
        paused.set(id, saved);
        return { status: "paused" as const, state };
      }
      state = { ...state, ...(await nodes[name]!(state)) };
    }
    return { status: "completed" as const, state };
  }
  return {
    steps: 3,
    async run() {
      const first = await runFrom("s", { count: 0, blob: "" }, 0);
      if (first.status !== "paused") throw new Error("raw: the run did not pause at the gate");
      const saved = JSON.parse(paused.get("s")!) as { state: BenchState; next: string };
      paused.delete("s");
      const done = await runFrom("s", saved.state, order.indexOf(saved.next), "approve");
      expectCount(done.state.count, 3, "raw");
    },
    checkpointBytes: () => bytes,
    async reset() {
      bytes = 0;
    },
  };
}
