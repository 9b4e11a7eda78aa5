/**
 * Random interleavings of what people and processes do to one session — sends of valid and
 * invalid actions and free text through two services, runs and resumes from two agents, time
 * passing — on a small gated graph over one store. Whatever happens, no message is lost (every
 * receipt settles once the session is drained), no node runs again on a state that already
 * records it, no checkpoint loses its parent, no run leaves a message claimed, and the audit
 * trail tells one story. Call `describeInterleavings` from a test file with the store to play
 * on; each interleaving gets a session of its own. `TRELLIS_PROPERTY_RUNS` sets how many
 * interleavings are tried (the caller's default otherwise).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  type InterruptInput,
  type InterruptOutcome,
  InterruptService,
  type NodeContext,
  RuleBasedReasoner,
  START,
  type Store,
  silentLogger,
  TrellisError,
} from "../../src/index.js";
import { turns } from "../graph/helpers.js";
import { CrashableStore } from "./crashable-store.js";
import { eventually, expectAuditInOrder, expectNoMissingParent, quiet } from "./engine-checks.js";

const State = z.object({ log: z.array(z.string()).default([]), note: z.string().default("") });
type State = z.output<typeof State>;
let played = 0;

/** Messages a person might send: valid, refused by the run, invalid at the door, free text. */
const message = fc.constantFrom<InterruptInput>(
  { type: "continue" },
  { type: "pause" },
  { type: "pause", mode: "wait", timeoutMs: 50 },
  { type: "resume" },
  { type: "cancel" },
  { type: "approve" },
  { type: "approve", requestId: "nobody.1" },
  { type: "reject", reason: "no" },
  { type: "request_changes", feedback: "shorter" },
  { type: "skip" },
  { type: "go_back", to: "a" },
  { type: "go_back", to: "nowhere" },
  { type: "rerun", guidance: "again" },
  { type: "update_state", values: { note: "edited" } },
  { type: "update_state", values: { note: 5 } },
  { type: "explode" } as never,
  "stop",
  "pause",
  "lgtm",
  "make it shorter",
  "go back to a",
  "what is this",
);

type Command =
  | { readonly kind: "send"; readonly via: 0 | 1; readonly message: InterruptInput }
  /** Several sends in the same tick, from both services. */
  | {
      readonly kind: "burst";
      readonly sends: readonly { readonly via: 0 | 1; readonly message: InterruptInput }[];
    }
  | { readonly kind: "start"; readonly by: 0 | 1; readonly how: "run" | "resume" | "startOver" }
  | { readonly kind: "cancel"; readonly by: 0 | 1 }
  | { readonly kind: "time"; readonly ms: number }
  | { readonly kind: "turns"; readonly n: number };

const via = fc.constantFrom<0 | 1>(0, 1);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("send" as const), via, message }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("burst" as const),
      sends: fc.array(fc.record({ via, message }), { minLength: 2, maxLength: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("start" as const),
      by: via,
      how: fc.constantFrom("run" as const, "resume" as const, "startOver" as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), by: via }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("time" as const),
      ms: fc.integer({ min: 1, max: 120 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("turns" as const),
      n: fc.integer({ min: 1, max: 4 }),
    }),
  },
);

/** Refusals a start may meet when it races another, or finds the session in the wrong state. */
const EXPECTED_START_ERRORS = new Set([
  "SESSION_BUSY",
  "SESSION_NOT_FINISHED",
  "SESSION_ENDED",
  "CHECKPOINT_NOT_FOUND",
]);

function world(over: Store, second: Store) {
  // Never crash: they count the calls waiting for an answer (see `quiet`). The second service
  // and agent use `second`, a connection of their own where the backend has one.
  const store = new CrashableStore(over);
  const stores = [store, second === over ? store : new CrashableStore(second)] as const;
  const session = `prop-${++played}-${Date.now()}`;
  const clock = new SimulatedClock(1_000_000);
  const violations: string[] = [];
  const executions: Record<string, number> = {};
  const node = (name: string) => async (state: Readonly<State>, ctx: NodeContext) => {
    executions[name] = (executions[name] ?? 0) + 1;
    // A state records every node that completed in its lineage since the run began: a node
    // that finds itself there ran again after it completed.
    if (state.log.includes(name)) violations.push(`${name} ran on [${state.log.join(", ")}]`);
    await clock.sleep(10, ctx.signal);
    return { log: [name] };
  };
  const graph = new Graph({ state: State, reducers: { log: "append" }, name: "prop" })
    .addNode("a", node("a"))
    .addNode("b", node("b"))
    .addNode("c", node("c"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile();
  const services = stores.map(
    (store) =>
      new InterruptService({ store, clock, logger: silentLogger, limits: { maxQueueSize: 8 } }),
  ) as unknown as [InterruptService, InterruptService];
  const agents = services.map(
    (interrupts, i) =>
      new GraphAgent({
        graph,
        store: stores[i]!,
        interrupts,
        clock,
        logger: silentLogger,
        interruptConfig: {
          reasoner: new RuleBasedReasoner({ logger: silentLogger }),
          approvals: {
            b: { timeoutMs: 200, onTimeout: "approve", maxRevisions: 1, onRevisionLimit: "reject" },
          },
        },
      }),
  ) as [GraphAgent<State>, GraphAgent<State>];
  return { store, stores, session, clock, services, agents, violations, executions };
}

type World = ReturnType<typeof world>;

/** Lets runs go on: time passes and timers fire until `done()` or a bound. */
async function settle(w: World, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) {
    await w.clock.advance(100);
    await quiet(...w.stores);
  }
}

function start(w: World, by: 0 | 1, how: "run" | "resume" | "startOver") {
  const agent = w.agents[by];
  if (how === "resume") return agent.resume(w.session);
  return agent.run(
    {},
    { sessionId: w.session, ...(how === "startOver" ? { startOver: true } : {}) },
  );
}

/** No run holds the session: none of its messages may be left claimed and unsettled. */
async function expectNothingHeld(w: World): Promise<void> {
  await quiet(...w.stores);
  const { inFlight } = await w.store.interrupts.stats(w.session);
  expect(inFlight, "messages claimed by runs that ended").toBe(0);
}

async function play(over: Store, second: Store, commands: readonly Command[]) {
  const w = world(over, second);
  const running = new Set<Promise<unknown>>();
  const failures: unknown[] = [];
  const receipts: { id: string; outcome?: InterruptOutcome }[] = [];
  const launch = (promise: Promise<unknown>) => {
    const tracked = promise.then(
      () => {},
      (error: unknown) => {
        if (!(error instanceof TrellisError) || !EXPECTED_START_ERRORS.has(error.code)) {
          failures.push(error);
        }
      },
    );
    running.add(tracked);
    void tracked.finally(() => running.delete(tracked));
  };
  const send = async (service: InterruptService, input: InterruptInput) => {
    try {
      const receipt = await service.send(w.session, input);
      const entry: { id: string; outcome?: InterruptOutcome } = { id: receipt.id };
      void receipt.decision.then((outcome) => {
        entry.outcome = outcome;
      });
      receipts.push(entry);
    } catch (error) {
      // Refused at the door (an unknown action, a full queue): the sender is told, nothing queued.
      if (!(error instanceof TrellisError)) failures.push(error);
    }
  };

  for (const c of commands) {
    switch (c.kind) {
      case "send":
        await send(w.services[c.via], c.message);
        break;
      case "burst":
        await Promise.all(c.sends.map((one) => send(w.services[one.via], one.message)));
        break;
      case "start":
        launch(start(w, c.by, c.how));
        await turns(1);
        break;
      case "cancel":
        w.agents[c.by].cancel(w.session);
        break;
      case "time":
        await w.clock.advance(c.ms);
        break;
      case "turns":
        await turns(c.n);
        break;
    }
  }
  await settle(w, () => running.size === 0);
  expect(running.size, "every run ended").toBe(0);
  await expectNothingHeld(w);

  // Drain: whatever is still queued (sent to a paused or finished session) is read by a run.
  for (let i = 0; i < 40; i++) {
    const stats = await w.store.interrupts.stats(w.session);
    if (stats.depth === 0 && stats.inFlight === 0) break;
    const latest = await w.store.checkpoints.latest(w.session, "");
    const how =
      latest === undefined
        ? "run"
        : latest.status === "completed" || latest.status === "rejected"
          ? "startOver"
          : "resume";
    launch(start(w, 0, how));
    await settle(w, () => running.size === 0);
    await expectNothingHeld(w);
  }
  await quiet(...w.stores);
  await turns(3);
  // A decision reaches its sender through the store's notifier, which a SQL store may deliver
  // a few milliseconds later (on real time).
  await eventually(
    () => receipts.every((r) => r.outcome !== undefined),
    "every receipt hears its decision",
  ).catch(() => {});
  return { w, receipts, failures };
}

/**
 * The property on a store `makeStore()` opens once for the file (and `close()` ends), trying
 * `runs` interleavings unless `TRELLIS_PROPERTY_RUNS` says otherwise; with `connectAgain`, the
 * second service and agent talk to the store through a connection of their own.
 */
export function describeInterleavings(
  name: string,
  makeStore: () => Promise<Store>,
  options: {
    readonly runs: number;
    /** A second connection to that store, for the second service and agent. */
    readonly connectAgain?: () => Promise<Store>;
  },
): void {
  let store: Store | undefined;
  let second: Store | undefined;
  beforeAll(async () => {
    store = await makeStore();
    second = options.connectAgain === undefined ? store : await options.connectAgain();
  });
  afterAll(async () => {
    if (second !== store) await second?.close();
    await store?.close();
  });
  describe(`random interleavings of sends and runs on one session: ${name}`, () => {
    it("never lose a message, never run a completed node again, never leave a lineage with a missing parent", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 16 }), async (commands) => {
          const { w, receipts, failures } = await play(store!, second!, commands);
          expect(failures).toEqual([]);
          expect(w.violations).toEqual([]);
          const stats = await w.store.interrupts.stats(w.session);
          expect({ depth: stats.depth, inFlight: stats.inFlight }).toEqual({
            depth: 0,
            inFlight: 0,
          });
          expect(receipts.filter((r) => r.outcome === undefined).map((r) => r.id)).toEqual([]);
          if ((await w.store.checkpoints.latest(w.session, "")) !== undefined) {
            await expectNoMissingParent(w.store, w.session);
          }
          const { items } = await w.store.audit.list(w.session, { limit: 500 });
          expectAuditInOrder(items);
        }),
        {
          numRuns: Number(process.env.TRELLIS_PROPERTY_RUNS ?? options.runs),
          // Replays a reported failure: TRELLIS_PROPERTY_SEED=<seed> TRELLIS_PROPERTY_PATH=<path>.
          ...(process.env.TRELLIS_PROPERTY_SEED === undefined
            ? {}
            : {
                seed: Number(process.env.TRELLIS_PROPERTY_SEED),
                ...(process.env.TRELLIS_PROPERTY_PATH === undefined
                  ? {}
                  : { path: process.env.TRELLIS_PROPERTY_PATH }),
                endOnFailure: true,
              }),
        },
      );
      // A failing interleaving is shrunk by playing smaller ones again: give that time.
    }, 120_000);
  });
}
