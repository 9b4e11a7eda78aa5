/**
 * The same graphs in LangGraph.js: `StateGraph` over an `Annotation` state, compiled with a
 * `MemorySaver` when checkpointing.
 */
import { EventEmitter } from "node:events";
import {
  Annotation,
  Command,
  END,
  interrupt,
  MemorySaver,
  START,
  StateGraph,
} from "@langchain/langgraph";
import { type BenchState, chainNames, expectCount, makeBlob, type Runner } from "./runner.js";

const State = Annotation.Root({
  count: Annotation<number>,
  blob: Annotation<string>,
});

type Update = Partial<BenchState>;

/**
 * The builder seen with plain string node names. LangGraph types node names as a union grown
 * by each `addNode` call, which a loop over generated names cannot express.
 */
interface DynamicGraph {
  addNode(name: string, fn: (state: BenchState) => Update): unknown;
  addEdge(from: string, to: string): unknown;
  addConditionalEdges(from: string, route: (state: BenchState) => string): unknown;
  compile(options?: { checkpointer?: MemorySaver }): Compiled;
}

interface Compiled {
  invoke(
    input: BenchState,
    config: { recursionLimit: number; configurable?: { thread_id: string } },
  ): Promise<BenchState>;
}

function newGraph(): DynamicGraph {
  return new StateGraph(State) as unknown as DynamicGraph;
}

/** Serialized bytes MemorySaver holds for a thread: checkpoints, their metadata, and writes. */
export function memorySaverBytes(saver: MemorySaver, threadId: string): number {
  let bytes = 0;
  for (const namespace of Object.values(saver.storage[threadId] ?? {})) {
    for (const [checkpoint, metadata] of Object.values(namespace)) {
      bytes += checkpoint.length + metadata.length;
    }
  }
  const prefix = JSON.stringify([threadId]).slice(0, -1);
  for (const [key, writes] of Object.entries(saver.writes)) {
    if (!key.startsWith(prefix)) continue;
    for (const [, , value] of Object.values(writes)) bytes += value.length;
  }
  return bytes;
}

function runner(
  graph: DynamicGraph,
  options: { steps: number; checkpoints: boolean; blobBytes: number; expected: number },
): Runner {
  const saver = options.checkpoints ? new MemorySaver() : undefined;
  const compiled = graph.compile(saver ? { checkpointer: saver } : {});
  const input: BenchState = { count: 0, blob: makeBlob(options.blobBytes) };
  const threadId = "bench";
  const config = {
    recursionLimit: options.steps + 10,
    ...(saver ? { configurable: { thread_id: threadId } } : {}),
  };
  return {
    steps: options.steps,
    async run() {
      const state = await compiled.invoke(input, config);
      expectCount(state.count, options.expected, "langgraph");
    },
    ...(saver
      ? {
          checkpointBytes: () => memorySaverBytes(saver, threadId),
          reset: () => saver.deleteThread(threadId),
        }
      : {}),
  };
}

const increment = (s: BenchState): Update => ({ count: s.count + 1 });

/** A chain of `nodes` nodes, each adding one to `count`. */
export function langgraphChain(options: {
  nodes: number;
  checkpoints: boolean;
  blobBytes?: number;
}): Runner {
  const graph = newGraph();
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
  });
}

/** One node that routes back to itself until `count` reaches `iterations`. */
export function langgraphLoop(options: { iterations: number; checkpoints: boolean }): Runner {
  const graph = newGraph();
  const n = options.iterations;
  graph.addNode("loop", increment);
  graph.addEdge(START, "loop");
  graph.addConditionalEdges("loop", (s) => (s.count < n ? "loop" : END));
  return runner(graph, {
    steps: n,
    checkpoints: options.checkpoints,
    blobBytes: 0,
    expected: n,
  });
}

/** Fan-out from `fork` to `branches` nodes in one superstep, joined by a node waiting for all. */
export function langgraphFanOut(options: { branches: number }): Runner {
  // LangGraph adds an abort listener per concurrent task to one signal; with 100 branches Node
  // would warn about a leak on every run. This process runs LangGraph alone.
  EventEmitter.defaultMaxListeners = Math.max(
    EventEmitter.defaultMaxListeners,
    options.branches * 2,
  );
  const FanState = Annotation.Root({
    count: Annotation<number>,
    results: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  });
  type S = typeof FanState.State;
  const graph = new StateGraph(FanState) as unknown as {
    addNode(name: string, fn: (state: S) => Partial<S>): unknown;
    addEdge(from: string | string[], to: string): unknown;
    compile(): { invoke(input: Partial<S>, config: { recursionLimit: number }): Promise<S> };
  };
  const names = Array.from({ length: options.branches }, (_, i) => `b${i}`);
  graph.addNode("fork", (s) => ({ count: s.count + 1 }));
  for (const name of names) graph.addNode(name, () => ({ results: [name] }));
  graph.addNode("join", (s) => ({ count: s.results.length }));
  graph.addEdge(START, "fork");
  for (const name of names) graph.addEdge("fork", name);
  graph.addEdge(names, "join");
  graph.addEdge("join", END);
  const compiled = graph.compile();
  return {
    steps: options.branches + 2,
    async run() {
      const state = await compiled.invoke({ count: 0 }, { recursionLimit: 100 });
      expectCount(state.count, options.branches, "langgraph");
    },
  };
}

/**
 * Pause and resume: `before` → `gate` (calls `interrupt()`) → `after`, with a `MemorySaver`.
 * `run()` invokes until the interrupt, then resumes with `new Command({ resume })`.
 */
export function langgraphInterrupt(): Runner {
  const saver = new MemorySaver();
  const graph = newGraph();
  graph.addNode("before", increment);
  graph.addNode("gate", (s) => {
    const answer = interrupt<string, string>("approve?");
    if (answer !== "approve") throw new Error(`langgraph: unexpected answer ${answer}`);
    return increment(s);
  });
  graph.addNode("after", increment);
  graph.addEdge(START, "before");
  graph.addEdge("before", "gate");
  graph.addEdge("gate", "after");
  graph.addEdge("after", END);
  const compiled = graph.compile({ checkpointer: saver }) as unknown as {
    invoke(
      input: BenchState | Command,
      config: { recursionLimit: number; configurable: { thread_id: string } },
    ): Promise<BenchState & { __interrupt__?: unknown[] }>;
  };
  const threadId = "bench";
  const config = { recursionLimit: 20, configurable: { thread_id: threadId } };
  return {
    steps: 3,
    async run() {
      const first = await compiled.invoke({ count: 0, blob: "" }, config);
      if (!first.__interrupt__?.length) throw new Error("langgraph: the run did not interrupt");
      const done = await compiled.invoke(new Command({ resume: "approve" }), config);
      expectCount(done.count, 3, "langgraph");
    },
    checkpointBytes: () => memorySaverBytes(saver, threadId),
    reset: () => saver.deleteThread(threadId),
  };
}
