/**
 * Shared set-up for the run-level interrupt tests: a probe that counts and holds node
 * executions, small graphs over one state, an agent wired to an `InterruptService` and a
 * `MemoryStore` on a `SimulatedClock`, and helpers that wait on receipts and sleepers without
 * any real timer.
 */
import { expect } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  type CompiledGraph,
  END,
  Graph,
  GraphAgent,
  type GraphEvent,
  type GraphEventType,
  type InterruptConfig,
  type InterruptLimits,
  type InterruptOutcome,
  type InterruptReceipt,
  InterruptService,
  MemoryStore,
  type NodeContext,
  START,
  type Store,
  silentLogger,
  type TrellisError,
} from "../../src/index.js";
import { type Deferred, deferred, settlesSoon, turns, untilAborted } from "../graph/helpers.js";

export const State = z.object({
  log: z.array(z.string()).default([]),
  n: z.number().default(0),
  note: z.string().default(""),
});
export type State = z.infer<typeof State>;

/** One execution of a node, as the probe saw it. */
export interface Execution {
  readonly node: string;
  readonly feedback: string | undefined;
  readonly revision: NodeContext["revision"];
  readonly state: State;
  readonly signal: AbortSignal;
}

/** A held execution: `entered` resolves when the node starts; `release()` lets it return. */
export interface Hold {
  readonly entered: Promise<NodeContext>;
  release(): void;
}

interface PlannedHold {
  readonly at: number;
  readonly stall: boolean;
  readonly entered: Deferred<NodeContext>;
  readonly release: Deferred<void>;
}

/**
 * Counts node executions and can hold one of them until the test releases it. One probe can
 * back several graphs (and so several agents), which is how a resume in another agent is
 * checked for double executions.
 */
export class Probe {
  readonly executions: Execution[] = [];
  readonly #counts = new Map<string, number>();
  readonly #holds = new Map<string, PlannedHold[]>();

  count(node: string): number {
    return this.#counts.get(node) ?? 0;
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** Holds the `nth` next execution of `node` (1 = the next one) until `release()`. */
  hold(node: string, nth = 1): Hold {
    const planned = this.#plan(node, nth, false);
    return { entered: planned.entered.promise, release: () => planned.release.resolve() };
  }

  /** The next execution of `node` never returns on its own: only its `ctx.signal` ends it. */
  stall(node: string): Promise<NodeContext> {
    return this.#plan(node, 1, true).entered.promise;
  }

  #plan(node: string, nth: number, stall: boolean): PlannedHold {
    const planned: PlannedHold = {
      at: this.count(node) + nth,
      stall,
      entered: deferred<NodeContext>(),
      release: deferred<void>(),
    };
    this.#holds.set(node, [...(this.#holds.get(node) ?? []), planned]);
    return planned;
  }

  /** A node function that appends its name (with any feedback) to `log` and counts `n` up. */
  node(name: string) {
    return async (state: Readonly<State>, ctx: NodeContext): Promise<Partial<State>> => {
      const k = this.count(name) + 1;
      this.#counts.set(name, k);
      this.executions.push({
        node: name,
        feedback: ctx.feedback,
        revision: ctx.revision,
        state,
        signal: ctx.signal,
      });
      const planned = this.#holds.get(name)?.find((h) => h.at === k);
      if (planned) {
        planned.entered.resolve(ctx);
        if (planned.stall) await untilAborted(ctx.signal);
        await planned.release.promise;
      }
      return {
        log: [ctx.feedback === undefined ? name : `${name}:${ctx.feedback}`],
        n: state.n + 1,
      };
    };
  }
}

const newGraph = (name: string) => new Graph({ state: State, reducers: { log: "append" }, name });

/** START → a → b → c → d → END; `node` builds each node (default: the probe's). */
export function linearGraph(
  probe: Probe,
  node: (name: string) => ReturnType<Probe["node"]> = (name) => probe.node(name),
): CompiledGraph<State> {
  return newGraph("linear")
    .addNode("a", node("a"))
    .addNode("b", node("b"))
    .addNode("c", node("c"))
    .addNode("d", node("d"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", "d")
    .addEdge("d", END)
    .compile();
}

/**
 * START → draft → review → publish → END; `review` routes to `revise` (→ END) when the note
 * says so, which also makes `revise` a valid `onReject` target.
 */
export function reviewGraph(probe: Probe): CompiledGraph<State> {
  return newGraph("review")
    .addNode("draft", probe.node("draft"))
    .addNode("review", probe.node("review"))
    .addNode("publish", probe.node("publish"))
    .addNode("revise", probe.node("revise"))
    .addEdge(START, "draft")
    .addEdge("draft", "review")
    .addConditionalEdges("review", (s) => (s.note === "revise" ? "revise" : "publish"), [
      "publish",
      "revise",
    ])
    .addEdge("publish", END)
    .addEdge("revise", END)
    .compile();
}

/** START → plan → draft → review → draft … three drafts in all → END. */
export function loopGraph(probe: Probe): CompiledGraph<State> {
  return newGraph("loop")
    .addNode("plan", probe.node("plan"))
    .addNode("draft", probe.node("draft"))
    .addNode("review", probe.node("review"))
    .addEdge(START, "plan")
    .addEdge("plan", "draft")
    .addEdge("draft", "review")
    .addConditionalEdges(
      "review",
      (s) => (s.log.filter((entry) => entry.startsWith("draft")).length < 3 ? "draft" : END),
      ["draft", END],
    )
    .compile();
}

/** START → outline → draft → polish → END, for free-text steering. */
export function writerGraph(probe: Probe): CompiledGraph<State> {
  return newGraph("writer")
    .addNode("outline", probe.node("outline"))
    .addNode("draft", probe.node("draft"))
    .addNode("polish", probe.node("polish"))
    .addEdge(START, "outline")
    .addEdge("outline", "draft")
    .addEdge("draft", "polish")
    .addEdge("polish", END)
    .compile();
}

const ALL_EVENTS: readonly GraphEventType[] = [
  "run:started",
  "run:finished",
  "node:started",
  "node:completed",
  "node:failed",
  "edge:taken",
  "state:updated",
  "checkpoint:saved",
  "custom",
  "interrupt:applied",
  "interrupt:refused",
  "approval:requested",
  "approval:decided",
  "state:restored",
];

/** Records every event the agent emits, in order. */
export function recordAll(agent: GraphAgent<State>): GraphEvent[] {
  const events: GraphEvent[] = [];
  for (const type of ALL_EVENTS) agent.on(type, (event) => events.push(event as GraphEvent));
  return events;
}

/** Events of one type, typed. */
export function ofType<K extends GraphEventType>(
  events: readonly GraphEvent[],
  type: K,
): Extract<GraphEvent, { type: K }>[] {
  return events.filter((e): e is Extract<GraphEvent, { type: K }> => e.type === type);
}

export interface SetupOptions {
  readonly graph?: (probe: Probe) => CompiledGraph<State>;
  readonly interruptConfig?: InterruptConfig;
  readonly limits?: Partial<InterruptLimits>;
  readonly probe?: Probe;
  readonly store?: Store;
  readonly clock?: SimulatedClock;
  /** The agent's `leaseTtlMs`. */
  readonly leaseTtlMs?: number;
}

/** A probe, a store, a simulated clock, an interrupt service and an agent, wired together. */
export function setup(options: SetupOptions = {}) {
  const probe = options.probe ?? new Probe();
  const store: Store = options.store ?? new MemoryStore();
  const clock = options.clock ?? new SimulatedClock(1_000_000);
  const interrupts = new InterruptService({
    store,
    clock,
    logger: silentLogger,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  const graph = (options.graph ?? linearGraph)(probe);
  const agent = new GraphAgent<State>({
    graph,
    store,
    interrupts,
    clock,
    logger: silentLogger,
    ...(options.interruptConfig === undefined ? {} : { interruptConfig: options.interruptConfig }),
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
  });
  const events = recordAll(agent);
  return { probe, store, clock, interrupts, graph, agent, events };
}

/**
 * The receipt's outcome, or a failure when it has not settled within a few turns of the event
 * loop (a receipt that never settles is a lost message).
 */
export async function decided(receipt: InterruptReceipt, within = 50): Promise<InterruptOutcome> {
  let outcome: InterruptOutcome | undefined;
  void receipt.decision.then((o) => {
    outcome = o;
  });
  for (let i = 0; i < within && outcome === undefined; i++) await turns();
  if (outcome === undefined) {
    throw new Error(`The receipt of message ${receipt.id} was never settled.`);
  }
  return outcome;
}

/** Asserts that the receipt was refused with an error of `type`, and returns that error. */
export async function refusedWith<E extends TrellisError>(
  receipt: InterruptReceipt,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const outcome = await decided(receipt);
  expect(outcome.status).toBe("refused");
  const error = (outcome as { error: TrellisError }).error;
  expect(error).toBeInstanceOf(type);
  return error as E;
}

/**
 * Asserts that the receipt was refused with an error named `name`, for receipts settled in
 * another process (read back from the store, an error keeps its `name` and `code`, not its class).
 */
export async function refusedNamed(receipt: InterruptReceipt, name: string): Promise<TrellisError> {
  const outcome = await decided(receipt);
  expect(outcome.status).toBe("refused");
  const error = (outcome as { error: TrellisError }).error;
  expect(error.name).toBe(name);
  return error;
}

/**
 * Waits (in event-loop turns, not time) until the run sleeps on the simulated clock: at a timed
 * gate, in a `"wait"` pause, between retries. One sleeper is always there while a run holds its
 * session: its lease heartbeat.
 */
export async function sleeping(clock: SimulatedClock, within = 100): Promise<void> {
  for (let i = 0; i < within && clock.pending < 2; i++) await turns();
  if (clock.pending < 2) throw new Error("The run did not start sleeping on the simulated clock.");
}

/** Waits until `n` approval requests were made and the run waits at the gate (timed gates). */
export async function requested(
  t: { readonly events: readonly GraphEvent[]; readonly clock: SimulatedClock },
  n = 1,
): Promise<void> {
  await until(() => ofType(t.events, "approval:requested").length >= n);
  await sleeping(t.clock);
}

/** Whether the promise is still pending after a few turns of the event loop. */
export async function stillPending(promise: Promise<unknown>, within = 20): Promise<boolean> {
  return !(await settlesSoon(promise, within));
}

/** Waits (in event-loop turns, not time) until `condition()` holds. */
export async function until(condition: () => boolean, within = 100): Promise<void> {
  for (let i = 0; i < within && !condition(); i++) await turns();
  if (!condition()) throw new Error("The condition never held.");
}
