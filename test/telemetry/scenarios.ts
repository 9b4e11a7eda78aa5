/**
 * Real graphs, run by a real `GraphAgent`, that between them write every span, attribute and
 * event Trellis documents: a parallel group, a nested graph, an approval gate (approved and
 * rejected), a suspended and a waiting pause with their resumes, a cancel, a retry, agent and
 * reasoner model calls, a fan-out with a resolved merge conflict, a dynamic node, a failure.
 * Each scenario returns what it ran so a test can compare the spans with it.
 */
import { z } from "zod";
import {
  agentNode,
  dynamicNode,
  END,
  Graph,
  GraphAgent,
  type InterruptConfig,
  InterruptService,
  MemoryStore,
  ModelReasoner,
  nestedGraph,
  parallelGroup,
  type RunResult,
  ScriptedModel,
  START,
  silentLogger,
} from "../../src/index.js";

export const State = z.object({
  topic: z.string().default("tides"),
  draft: z.string().default(""),
  notes: z.array(z.string()).default([]),
  score: z.number().default(0),
  owner: z.string().default(""),
});
export type State = z.infer<typeof State>;

const reducers = { notes: "append", score: "sum" } as const;

/** A writer model that always answers, with token usage. */
function writerModel() {
  return new ScriptedModel({ responses: () => "A draft about tides." });
}

/** The article graph: an agent, a nested graph, a parallel group and a plain node. */
export function articleGraph() {
  const child = new Graph({ state: State, name: "polish", reducers })
    .addNode("tidy", () => ({ notes: ["tidied"] }))
    .addEdge(START, "tidy")
    .addEdge("tidy", END)
    .compile();
  return new Graph({ state: State, name: "article", reducers })
    .addNode(
      "write",
      agentNode<State>({
        name: "writer",
        model: writerModel(),
        instructions: "Write.",
        prompt: (s) => `Write about ${s.topic}`,
        update: ({ text }) => ({ draft: text }),
      }),
    )
    .addNode("polish", nestedGraph<State, State>(child))
    .addNode(
      "check",
      parallelGroup<State>({
        branches: {
          facts: () => ({ notes: ["facts ok"], score: 1, owner: "facts" }),
          tone: () => ({ notes: ["tone ok"], score: 2, owner: "tone" }),
          // Fails; the join needs two of three and the policy goes on without it.
          style: () => {
            throw new Error("style guide not found");
          },
        },
        join: { n: 2 },
        errors: "continue",
        conflicts: "last",
      }),
    )
    .addNode("review", (s) => ({ notes: [`reviewed ${s.draft.length}`] }))
    .addEdge(START, "write")
    .addEdge("write", "polish")
    .addEdge("polish", "check")
    .addEdge("check", "review")
    .addEdge("review", END)
    .compile();
}

export interface Ran {
  readonly results: RunResult<State>[];
}

/**
 * The article graph with a gate on `review`: suspends at the gate, is asked for changes (so
 * `review` re-runs with feedback), suspends again, then is approved by free text.
 */
export async function approvedArticle(recordContent = false): Promise<Ran> {
  const store = new MemoryStore();
  const interrupts = new InterruptService({ store });
  const agent = new GraphAgent({
    graph: articleGraph(),
    name: "article-agent",
    store,
    interrupts,
    interruptConfig: { approvals: { review: {} } },
    telemetry: { recordContent },
    logger: silentLogger,
  });
  const first = await agent.run({}, { sessionId: "approved" });
  await interrupts.send("approved", { type: "request_changes", feedback: "cite the tide tables" });
  const second = await agent.resume("approved");
  await interrupts.send("approved", "looks good, ship it", { sender: "ana" });
  const third = await agent.resume("approved");
  return { results: [first, second, third] };
}

/** A gate that is rejected: the run ends `rejected`. */
export async function rejectedGate(): Promise<Ran> {
  const store = new MemoryStore();
  const interrupts = new InterruptService({ store });
  const agent = new GraphAgent({
    graph: simpleGraph("gated"),
    store,
    interrupts,
    interruptConfig: { approvals: { a: {} } },
    logger: silentLogger,
  });
  const first = await agent.run({}, { sessionId: "rejected" });
  await interrupts.send("rejected", { type: "reject", reason: "off topic" });
  const second = await agent.resume("rejected");
  return { results: [first, second] };
}

/** `a → b → c`, each appending its name to `notes`. */
export function simpleGraph(name: string, hooks: { a?: () => Promise<void> | void } = {}) {
  return new Graph({ state: State, name, reducers })
    .addNode("a", async () => {
      await hooks.a?.();
      return { notes: ["a"] };
    })
    .addNode("b", () => ({ notes: ["b"] }))
    .addNode("c", () => ({ notes: ["c"] }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile();
}

/**
 * A `pause` sent while `a` runs suspends the run after `a`; a queued `resume` message starts
 * the resumed run. Then a `wait` pause, ended in process by a `resume` message.
 */
export async function pausedAndResumed(): Promise<Ran> {
  const store = new MemoryStore();
  const interrupts = new InterruptService({ store });
  let send: (() => Promise<void>) | undefined = async () => {
    await interrupts.send("paused", { type: "pause" }, { sender: "ana" });
  };
  const config: InterruptConfig = { check: "after" };
  const agent = new GraphAgent({
    graph: simpleGraph("pausing", {
      a: async () => {
        const once = send;
        send = undefined;
        await once?.();
      },
    }),
    store,
    interrupts,
    interruptConfig: config,
    logger: silentLogger,
  });
  const first = await agent.run({}, { sessionId: "paused" });
  await interrupts.send("paused", { type: "resume" });
  const second = await agent.resume("paused");

  let waiting: Promise<unknown> | undefined;
  send = async () => {
    // Refused where it is read (no gate is open), so the trace shows a refusal too.
    await interrupts.send("waited", { type: "approve" });
    await interrupts.send("waited", { type: "pause", mode: "wait", timeoutMs: 60_000 });
    // Sent now, read while the run waits: ends the wait.
    waiting = interrupts.send("waited", { type: "resume" });
  };
  const third = await agent.run({}, { sessionId: "waited" });
  await waiting;
  return { results: [first, second, third] };
}

/** A cancel sent while `a` runs: the node stops and the run ends `cancelled`. */
export async function cancelled(): Promise<Ran> {
  const store = new MemoryStore();
  const interrupts = new InterruptService({ store });
  const graph = new Graph({ state: State, name: "cancelling", reducers })
    .addNode("a", async (_s, ctx) => {
      await interrupts.send("cancelled", { type: "cancel", reason: "changed my mind" });
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      ctx.signal.throwIfAborted();
      return {};
    })
    .addNode("b", () => ({}))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", END)
    .compile();
  const agent = new GraphAgent({ graph, store, interrupts, logger: silentLogger });
  const result = await agent.run({}, { sessionId: "cancelled" });
  return { results: [result] };
}

/** A node that fails twice and succeeds on its third attempt. */
export async function retried(): Promise<Ran> {
  let calls = 0;
  const graph = new Graph({ state: State, name: "retrying", reducers })
    .addNode(
      "flaky",
      () => {
        calls++;
        if (calls < 3) throw new Error(`flake ${calls}`);
        return { score: 1 };
      },
      { retry: { maxAttempts: 3, initialDelayMs: 0, jitter: 0 } },
    )
    .addEdge(START, "flaky")
    .addEdge("flaky", END)
    .compile();
  const result = await new GraphAgent({ graph, logger: silentLogger }).run({});
  return { results: [result] };
}

/** A node that fails for good: the run ends `failed`. */
export async function failed(): Promise<Ran> {
  const graph = new Graph({ state: State, name: "broken", reducers })
    .addNode("boom", () => {
      throw new Error("disk full");
    })
    .addEdge(START, "boom")
    .addEdge("boom", END)
    .compile();
  const result = await new GraphAgent({ graph, logger: silentLogger }).run({});
  return { results: [result] };
}

/**
 * A fan-out through plain edges whose two nodes overwrite `owner` (resolved by `last`), a
 * dynamic node, a custom event and a conditional edge with a label.
 */
export async function fannedOut(): Promise<Ran> {
  const graph = new Graph({ state: State, name: "fanning", reducers })
    .addNode("start", (_s, ctx) => {
      ctx.emit("started", { at: 1 });
      return {};
    })
    .addNode("left", () => ({ owner: "left", notes: ["l"] }))
    .addNode("right", () => ({ owner: "right", notes: ["r"] }))
    .addNode(
      "pick",
      dynamicNode<State>({
        options: { short: () => ({ draft: "short" }), long: () => ({ draft: "long" }) },
        select: () => "short",
      }),
    )
    .addNode("done", () => ({}))
    .addEdge(START, "start")
    .addEdge("start", "left")
    .addEdge("start", "right")
    .addEdge("left", "pick")
    .addEdge("right", "pick")
    .addConditionalEdges("pick", {
      routes: [{ when: (s) => s.draft === "short", to: "done", label: "short" }],
      fallback: END,
    })
    .addEdge("done", END)
    .compile({ conflicts: "last" });
  const result = await new GraphAgent({ graph, logger: silentLogger }).run({});
  return { results: [result] };
}

/**
 * A model reasoner reads free text, sent before the run starts (read at the start check) or
 * while node `a` runs (read on arrival); its model call is traced.
 */
export async function reasoned(
  telemetry: ConstructorParameters<typeof GraphAgent<State>>[0]["telemetry"] = undefined,
  when: "before" | "while-running" = "before",
): Promise<Ran & { reasonerCalls: number }> {
  const store = new MemoryStore();
  const interrupts = new InterruptService({ store });
  const sessionId = "reasoned";
  const data = { reasoning: "The human says carry on.", action: "continue", confidence: 0.9 };
  const model = new ScriptedModel({ model: "reasoner-model", responses: () => data });
  const text = "please carry on with the secret plan";
  const agent = new GraphAgent({
    graph: simpleGraph("reasoning", {
      a: async () => {
        if (when === "while-running") await interrupts.send(sessionId, text);
      },
    }),
    store,
    interrupts,
    interruptConfig: { reasoner: new ModelReasoner({ model, logger: silentLogger }) },
    ...(telemetry === undefined ? {} : { telemetry }),
    logger: silentLogger,
  });
  if (when === "before") await interrupts.send(sessionId, text);
  const result = await agent.run({}, { sessionId });
  return { results: [result], reasonerCalls: model.calls.length };
}

/** Waits until `signal` aborts, then throws its reason (a node that only a cancel ends). */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/**
 * `agent.cancel()` while a parallel group's branch and a nested graph's node run, and while a
 * gate with a deadline waits: every one of them ends as an outcome.
 */
export async function cancelledInside(): Promise<Ran> {
  const store = new MemoryStore();
  const interrupts = new InterruptService({ store });
  let agent: GraphAgent<State> | undefined;
  let session = "";
  const cancelSoon = () => setTimeout(() => agent?.cancel(session, "the user stopped it"), 5);
  const child = new Graph({ state: State, name: "inner", reducers })
    .addNode("deep", (_s, ctx) => {
      cancelSoon();
      return untilAborted(ctx.signal);
    })
    .addEdge(START, "deep")
    .addEdge("deep", END)
    .compile();
  const graph = new Graph({ state: State, name: "stoppable", reducers })
    .addNode(
      "group",
      parallelGroup<State>({
        branches: {
          quick: () => ({ notes: ["quick"] }),
          slow: (_s, ctx) => {
            cancelSoon();
            return untilAborted(ctx.signal);
          },
        },
      }),
    )
    .addEdge(START, "group")
    .addEdge("group", END)
    .compile();
  const nestedOnly = new Graph({ state: State, name: "stoppable", reducers })
    .addNode("nested", nestedGraph<State, State>(child))
    .addEdge(START, "nested")
    .addEdge("nested", END)
    .compile();
  const gated = new Graph({ state: State, name: "stoppable", reducers })
    .addNode("gate", () => {
      cancelSoon();
      return { notes: ["gate"] };
    })
    .addEdge(START, "gate")
    .addEdge("gate", END)
    .compile();
  const results: RunResult<State>[] = [];
  for (const [id, g, config] of [
    ["in-group", graph, undefined],
    ["in-nested", nestedOnly, undefined],
    ["at-gate", gated, { approvals: { gate: { timeoutMs: 60_000 } } }],
  ] as const) {
    session = id;
    agent = new GraphAgent({
      graph: g,
      store,
      interrupts,
      ...(config === undefined ? {} : { interruptConfig: config }),
      logger: silentLogger,
    });
    results.push(await agent.run({}, { sessionId: id }));
  }
  return { results };
}

/**
 * The caller's signal aborts a fan-out step of three nodes; one rejects with the signal's
 * reason, the others with errors of their own making (as a socket or a library would).
 */
export async function cancelledBySignal(): Promise<Ran> {
  const controller = new AbortController();
  const onAbort = (signal: AbortSignal, error: () => unknown) =>
    new Promise<never>((_resolve, reject) => {
      signal.addEventListener("abort", () => reject(error()), { once: true });
    });
  const graph = new Graph({ state: State, name: "signalled", reducers })
    .addNode("start", () => ({}))
    .addNode("a", (_s, ctx) => {
      setTimeout(() => controller.abort(), 5);
      return onAbort(ctx.signal, () => new Error("socket hang up"));
    })
    .addNode("b", (_s, ctx) => onAbort(ctx.signal, () => ctx.signal.reason))
    .addNode("c", (_s, ctx) => onAbort(ctx.signal, () => new TypeError("terminated")))
    .addEdge(START, "start")
    .addEdge("start", "a")
    .addEdge("start", "b")
    .addEdge("start", "c")
    .addEdge("a", END)
    .addEdge("b", END)
    .addEdge("c", END)
    .compile();
  const agent = new GraphAgent({ graph, logger: silentLogger });
  return { results: [await agent.run({}, { signal: controller.signal })] };
}
