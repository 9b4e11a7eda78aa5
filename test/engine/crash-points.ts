/**
 * Engine suite cases: a process may die between any two of its store calls. For every such
 * point of a gated run (steered by messages from another process), a second process takes the
 * session over once the lease ran out and drives it to its end: no node runs again on a state
 * that already records it, every message is settled, no checkpoint loses its parent.
 */
import { expect, it } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  type InterruptReceipt,
  InterruptService,
  type NodeContext,
  START,
  type Store,
  silentLogger,
} from "../../src/index.js";
import { CrashableStore } from "./crashable-store.js";
import { expectAuditInOrder, expectNoMissingParent, quiet } from "./engine-checks.js";

const State = z.object({ log: z.array(z.string()).default([]), note: z.string().default("") });
type State = z.output<typeof State>;
const T0 = 1_700_000_000_000;

function graphOf(violations: string[], clock: () => SimulatedClock) {
  const node = (name: string) => async (state: Readonly<State>, ctx: NodeContext) => {
    if (state.log.includes(name)) violations.push(`${name} ran on [${state.log.join(", ")}]`);
    await clock().sleep(5, ctx.signal);
    return { log: [name] };
  };
  return new Graph({ state: State, reducers: { log: "append" }, name: "crash-points" })
    .addNode("draft", node("draft"))
    .addNode("review", node("review"))
    .addNode("publish", node("publish"))
    .addEdge(START, "draft")
    .addEdge("draft", "review")
    .addEdge("review", "publish")
    .addEdge("publish", END)
    .compile();
}

function processOver(store: Store, at: number, violations: string[]) {
  const clock = new SimulatedClock(at);
  const interrupts = new InterruptService({ store, clock, logger: silentLogger });
  const agent = new GraphAgent({
    graph: graphOf(violations, () => clock),
    store,
    interrupts,
    clock,
    logger: silentLogger,
    leaseTtlMs: 1_000,
    interruptConfig: { approvals: { review: { timeoutMs: 60_000 } } },
  });
  return { clock, interrupts, agent };
}

/** Runs `promise` to its end, letting simulated time pass; `step` runs between steps. */
async function finish<T>(
  clock: SimulatedClock,
  store: CrashableStore,
  promise: Promise<T>,
  step: () => Promise<void> = async () => {},
): Promise<void> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 200 && !done; i++) {
    await clock.advance(20);
    await quiet(store);
    if (!done) await step();
  }
  if (!done) throw new Error("the run did not end");
}

/** One run of the scenario, the first process dying after its `k`-th store call. */
async function dieAfter(store: Store, other: Store, sessionId: string, k: number) {
  const dying = new CrashableStore(store);
  const violations: string[] = [];
  let calls = 0;
  dying.crashAfter(() => ++calls === k);
  const one = processOver(dying, T0, violations);
  // Another process steers: a note first, then an approve for the gate.
  const steer = new InterruptService({ store, clock: one.clock, logger: silentLogger });
  const receipts: InterruptReceipt[] = [
    await steer.send(sessionId, { type: "update_state", values: { note: "n" } }),
  ];
  const first = one.agent.run({}, { sessionId }).catch(() => undefined);
  for (let i = 0; i < 20 && !dying.crashed; i++) {
    await one.clock.advance(5);
    await quiet(dying);
  }
  receipts.push(await steer.send(sessionId, { type: "approve" }));
  // A dead process may still wait at the gate in vain: let its timeout pass.
  await one.clock.advance(61_000);
  await finish(one.clock, dying, first);

  // The lease of a dead process runs out; a second process drives the session to its end.
  const living = new CrashableStore(other);
  const two = processOver(living, one.clock.now() + 1_000, violations);
  for (let round = 0; round < 5; round++) {
    const latest = await store.checkpoints.latest(sessionId, "");
    if (latest?.status === "completed" || latest?.status === "rejected") break;
    const next =
      latest === undefined ? two.agent.run({}, { sessionId }) : two.agent.resume(sessionId);
    // Whenever the run waits at a gate with nothing queued, a reviewer approves that request.
    await finish(two.clock, living, next, async () => {
      const gate = (await store.checkpoints.latest(sessionId, ""))?.meta?.gate;
      if (gate === undefined || two.clock.pending < 2) return;
      if (await two.interrupts.hasPending(sessionId)) return;
      receipts.push(
        await two.interrupts.send(sessionId, { type: "approve", requestId: gate.requestId }),
      );
    });
  }
  return { violations, receipts, crashed: dying.crashed, two };
}

/**
 * The crash-point cases of the engine suite, on a fresh `store()` (and `other()`, the second
 * process's connection to it) with fresh `session()` ids.
 */
export function crashPointCases(
  store: () => Store,
  other: () => Store,
  session: (label: string) => string,
): void {
  it("lets another process finish a session whatever store call the first one died after, without running a finished node again or losing a message", async () => {
    let crashes = 0;
    for (let k = 1; k <= 30; k++) {
      const sessionId = session(`crash-point-${k}`);
      const { violations, receipts, crashed, two } = await dieAfter(store(), other(), sessionId, k);
      if (crashed) crashes++;
      expect(violations, `crash after call ${k}`).toEqual([]);
      expect(
        (await store().checkpoints.latest(sessionId, ""))?.status,
        `crash after call ${k}`,
      ).toBe("completed");
      for (const receipt of receipts) {
        expect(await two.interrupts.outcome(receipt.id), `crash after call ${k}`).toBeDefined();
      }
      const stats = await store().interrupts.stats(sessionId);
      expect({ depth: stats.depth, inFlight: stats.inFlight }, `crash after call ${k}`).toEqual({
        depth: 0,
        inFlight: 0,
      });
      await expectNoMissingParent(store(), sessionId);
      const { items } = await store().audit.list(sessionId, { limit: 500 });
      expectAuditInOrder(items, { abandoned: 1 });
    }
    // The points cover the whole first run, up to where it no longer dies.
    expect(crashes).toBeGreaterThan(10);
    expect(crashes).toBeLessThan(30);
  });
}

const Fan = z.object({ log: z.array(z.string()).default([]) });
type Fan = z.output<typeof Fan>;

/** a, then b and c in one parallel step, then `join` (waiting for both), then d. */
function fanGraph(violations: string[], clock: () => SimulatedClock) {
  const node = (name: string) => async (state: Readonly<Fan>, ctx: NodeContext) => {
    if (state.log.includes(name)) violations.push(`${name} ran on [${state.log.join(", ")}]`);
    await clock().sleep(5, ctx.signal);
    return { log: [name] };
  };
  return new Graph({ state: Fan, reducers: { log: "append" }, name: "crash-fan" })
    .addNode("a", node("a"))
    .addNode("b", node("b"))
    .addNode("c", node("c"))
    .addNode("join", node("join"))
    .addNode("d", node("d"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("a", "c")
    .addEdge(["b", "c"], "join")
    .addEdge("join", "d")
    .addEdge("d", END)
    .compile();
}

/** The crash-point cases of a parallel step: its checkpoints are one write. */
export function parallelCrashPointCases(
  store: () => Store,
  session: (label: string) => string,
): void {
  it("lets another process finish a fan-out whatever store call the first one died after, with both branches' updates and one join", async () => {
    let crashes = 0;
    for (let k = 1; k <= 16; k++) {
      const sessionId = session(`fan-crash-${k}`);
      const violations: string[] = [];
      const dying = new CrashableStore(store());
      let calls = 0;
      dying.crashAfter(() => ++calls === k);
      const clock = new SimulatedClock(T0);
      const agentOver = (over: Store, at: SimulatedClock) =>
        new GraphAgent({
          graph: fanGraph(violations, () => at),
          store: over,
          clock: at,
          logger: silentLogger,
          leaseTtlMs: 1_000,
        });
      await finish(
        clock,
        dying,
        agentOver(dying, clock)
          .run({}, { sessionId })
          .catch(() => undefined),
      );
      if (dying.crashed) crashes++;
      const later = new SimulatedClock(clock.now() + 2_000);
      const latest = await store().checkpoints.latest(sessionId, "");
      if (latest?.status !== "completed") {
        const alive = new CrashableStore(store());
        const next = agentOver(alive, later);
        await finish(
          later,
          alive,
          latest === undefined ? next.run({}, { sessionId }) : next.resume(sessionId),
        );
      }
      const final = await agentOver(store(), later).getState(sessionId);
      expect(violations, `crash after call ${k}`).toEqual([]);
      expect(final?.status, `crash after call ${k}`).toBe("completed");
      expect([...(final?.state.log ?? [])].sort(), `crash after call ${k}`).toEqual([
        "a",
        "b",
        "c",
        "d",
        "join",
      ]);
      // No checkpoint in the middle of the step is ever the latest of the lineage.
      await expectNoMissingParent(store(), sessionId);
    }
    expect(crashes).toBeGreaterThan(3);
  });
}
