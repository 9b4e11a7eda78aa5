/**
 * The same graphs in Trellis: `Graph` over a zod state, run by `GraphAgent` with its
 * defaults (update validation on, events built only when someone listens). Without
 * checkpoints the agent uses durability `"off"`; with them, `"step"` into a `MemoryStore`.
 */
import { z } from "zod";
import {
  END,
  Graph,
  GraphAgent,
  InterruptService,
  MemoryStore,
  parallelGroup,
  recordPayload,
  START,
} from "../../src/index.js";
import type { Missing } from "../scenario.js";
import { type BenchState, chainNames, expectCount, makeBlob, type Runner } from "./runner.js";

const State = z.object({ count: z.number().default(0), blob: z.string().default("") });

type ChainGraph = Graph<typeof State>;

const increment = (s: Readonly<BenchState>) => ({ count: s.count + 1 });

/** Bytes of checkpoint records stored for a session: payload plus meta as JSON. */
async function storedBytes(store: MemoryStore, sessionId: string): Promise<number> {
  const records = await store.checkpoints.list(sessionId, "");
  return records.reduce(
    (sum, r) =>
      sum +
      (r.kind === "unparsable"
        ? 0
        : JSON.stringify(recordPayload(r)).length + JSON.stringify(r.meta).length),
    0,
  );
}

/** Forgets the session between runs (untimed), so each run starts from an empty store. */
const forget = (store: MemoryStore, sessionId: string) =>
  store.sessions.delete(sessionId, { now: Date.now() });

function runner(
  graph: ChainGraph,
  options: {
    steps: number;
    checkpoints: boolean;
    blobBytes: number;
    expected: number;
    spans?: boolean;
  },
): Runner {
  const store = new MemoryStore();
  const agent = new GraphAgent({
    graph: graph.compile(),
    store,
    ...(options.spans === false ? { telemetry: false as const } : {}),
    durability: options.checkpoints ? "step" : "off",
    maxIterations: options.steps + 10,
  });
  const input: BenchState = { count: 0, blob: makeBlob(options.blobBytes) };
  const sessionId = "bench";
  return {
    steps: options.steps,
    async run() {
      const result = await agent.run(input, { sessionId });
      if (result.status !== "completed") {
        throw new Error(`trellis: run ended ${result.status}: ${result.error?.message}`);
      }
      expectCount(result.state.count, options.expected, "trellis");
    },
    ...(options.checkpoints
      ? {
          checkpointBytes: () => storedBytes(store, sessionId),
          reset: () => forget(store, sessionId),
        }
      : {}),
  };
}

/** A chain of `nodes` nodes, each adding one to `count`. */
export function trellisChain(options: {
  nodes: number;
  checkpoints: boolean;
  blobBytes?: number;
  /** `false` builds the agent with `telemetry: false`: no span calls at all. */
  spans?: boolean;
}): Runner {
  const graph = new Graph({ state: State, name: "chain" });
  const names = chainNames(options.nodes);
  for (const name of names) graph.addNode(name, increment);
  graph.addEdge(START, names[0]!);
  names.forEach((name, i) => {
    graph.addEdge(name, names[i + 1] ?? END);
  });
  return runner(graph, {
    steps: options.nodes,
    checkpoints: options.checkpoints,
    blobBytes: options.blobBytes ?? 0,
    expected: options.nodes,
    ...(options.spans === undefined ? {} : { spans: options.spans }),
  });
}

/** One node that routes back to itself until `count` reaches `iterations`. */
export function trellisLoop(options: { iterations: number; checkpoints: boolean }): Runner {
  const n = options.iterations;
  const graph = new Graph({ state: State, name: "loop" })
    .addNode("loop", increment)
    .addEdge(START, "loop")
    .addConditionalEdges("loop", (s) => (s.count < n ? "loop" : END), ["loop", END]);
  return runner(graph, { steps: n, checkpoints: options.checkpoints, blobBytes: 0, expected: n });
}

/** State of the fan-out graph: `results` (append reducer) gathers one entry per branch. */
const FanState = z.object({
  count: z.number().default(0),
  results: z.array(z.string()).default([]),
});

type FanOutState = z.output<typeof FanState>;

function runFanOut(graph: Graph<typeof FanState>, branches: number): Runner {
  const agent = new GraphAgent({ graph: graph.compile(), durability: "off" });
  return {
    steps: branches + 2,
    async run() {
      const result = await agent.run({}, { sessionId: "bench" });
      if (result.status !== "completed") {
        throw new Error(`trellis: run ended ${result.status}: ${result.error?.message}`);
      }
      expectCount(result.state.count, branches, "trellis");
    },
  };
}

/**
 * Fan-out from `fork` to `branches` nodes through plain edges (the targets of several plain
 * edges run concurrently in one superstep, like LangGraph's), then a `join` node.
 */
export function trellisFanOut(options: { branches: number }): Runner {
  const names = Array.from({ length: options.branches }, (_, i) => `b${i}`);
  const graph = new Graph({ state: FanState, name: "fan-out", reducers: { results: "append" } })
    .addNode("fork", (s) => ({ count: s.count + 1 }))
    .addNode("join", (s) => ({ count: s.results.length }))
    .addEdge(START, "fork")
    .addEdge("join", END);
  for (const name of names) {
    graph.addNode(name, () => ({ results: [name] }));
    graph.addEdge("fork", name);
    graph.addEdge(name, "join");
  }
  return runFanOut(graph, options.branches);
}

/**
 * The same fan-out as one `parallelGroup` node: each branch runs on its own copy of the state
 * and the group merges the branches' diffs (here, appends to `results`) at the join.
 */
export function trellisParallelGroup(options: { branches: number }): Runner {
  const branches: Record<string, (s: Readonly<FanOutState>) => Partial<FanOutState>> = {};
  for (let i = 0; i < options.branches; i++) {
    const name = `b${i}`;
    branches[name] = () => ({ results: [name] });
  }
  const graph = new Graph({ state: FanState, name: "parallel", reducers: { results: "append" } })
    .addNode("fork", (s) => ({ count: s.count + 1 }))
    .addNode("group", parallelGroup<FanOutState>({ branches }))
    .addNode("join", (s) => ({ count: s.results.length }))
    .addEdge(START, "fork")
    .addEdge("fork", "group")
    .addEdge("group", "join")
    .addEdge("join", END);
  return runFanOut(graph, options.branches);
}

/**
 * (a)'s chain with the OpenTelemetry SDK installed by `setupTelemetry({ exporter: "memory" })`.
 * Reports itself missing while the run loop emits no spans.
 */
export async function trellisTracedChain(options: { nodes: number }): Promise<Runner | Missing> {
  const { setupTelemetry } = await import("../../src/telemetry/setup-telemetry.js");
  const telemetry = await setupTelemetry({ exporter: "memory", diagnostics: false });
  const memory = telemetry.memory!;
  const inner = trellisChain({ nodes: options.nodes, checkpoints: false });
  await inner.run();
  const spans = memory.getFinishedSpans().length;
  memory.reset();
  if (spans < options.nodes) {
    await telemetry.shutdown();
    return { missing: `a traced run exported ${spans} spans for ${options.nodes} nodes` };
  }
  return {
    steps: inner.steps,
    run: () => inner.run(),
    async reset() {
      memory.reset();
    },
    close: () => telemetry.shutdown(),
  };
}

/**
 * Pause and resume: `before` → `gate` → `after`, with an approval gate on `gate` and
 * checkpoints on. `run()` runs until the gate suspends the run (`paused`), sends `approve`
 * and resumes the session to the end.
 */
export function trellisInterrupt(): Runner | Missing {
  const store = new MemoryStore();
  const interrupts = new InterruptService({ store });
  const graph = new Graph({ state: State, name: "gate" })
    .addNode("before", increment)
    .addNode("gate", increment)
    .addNode("after", increment)
    .addEdge(START, "before")
    .addEdge("before", "gate")
    .addEdge("gate", "after")
    .addEdge("after", END)
    .compile();
  const agent = new GraphAgent({
    graph,
    store,
    interrupts,
    interruptConfig: { approvals: { gate: {} } },
  });
  const sessionId = "bench";
  return {
    steps: 3,
    async run() {
      const first = await agent.run({ count: 0 }, { sessionId });
      if (first.status !== "paused") {
        throw new Error(`trellis: expected the run to pause at the gate, it ended ${first.status}`);
      }
      await interrupts.send(sessionId, { type: "approve" });
      const done = await agent.resume(sessionId);
      if (done.status !== "completed") {
        throw new Error(`trellis: resumed run ended ${done.status}: ${done.error?.message}`);
      }
      expectCount(done.state.count, 3, "trellis");
    },
    checkpointBytes: () => storedBytes(store, sessionId),
    reset: () => forget(store, sessionId),
  };
}
