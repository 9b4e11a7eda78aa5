/**
 * Whole graphs steered through a store: every backend must run them alike. Call
 * `describeEngine` from a test file with a factory that returns a fresh store; the suite closes
 * it after each test. Only the public API and the `Store` interface are used; time is a
 * `SimulatedClock` per process (leases and gate deadlines), and real timers only wait, in short
 * steps, for what a store delivers on its own (a SQL notifier).
 *
 * @example
 * ```ts
 * describeEngine("MemoryStore", async () => new MemoryStore());
 * ```
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  type GraphEvent,
  type InterruptConfig,
  InterruptService,
  type NodeContext,
  RunRejectedError,
  SessionEndedError,
  START,
  type Store,
  silentLogger,
} from "../../src/index.js";
import { crashPointCases, parallelCrashPointCases } from "./crash-points.js";
import { CrashableStore, endOfCancelledRun } from "./crashable-store.js";
import {
  eventually,
  expectAuditInOrder,
  expectNoMissingParent,
  settledOutcome,
} from "./engine-checks.js";
import { nestedGateCases } from "./nested-gate-cases.js";
import { stateCases } from "./state-cases.js";
import { stepKeyCases } from "./step-key-cases.js";
import { unwrittenEndCases } from "./unwritten-end-cases.js";

const T0 = 1_700_000_000_000;
const WHEN = new Date(T0 + 123);
const MEGABYTE = "x".repeat(1_000_000);

const EngineState = z.object({
  log: z.array(z.string()).default([]),
  when: z.coerce.date().default(() => new Date(0)),
  blob: z.string().default(""),
  note: z.string().default(""),
});
type EngineState = z.output<typeof EngineState>;

/** Node executions per node, across every process of a test. */
class Counts {
  readonly #counts = new Map<string, number>();
  /** What each execution saw. */
  readonly seen: { node: string; state: Readonly<EngineState> }[] = [];

  of(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  node(name: string, update: (ctx: NodeContext) => Partial<EngineState> = () => ({})) {
    return (state: Readonly<EngineState>, ctx: NodeContext): Partial<EngineState> => {
      this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
      this.seen.push({ node: name, state });
      return {
        log: [ctx.feedback === undefined ? name : `${name}:${ctx.feedback}`],
        ...update(ctx),
      };
    };
  }
}

/** START → draft (a Date and a megabyte into the state) → review → publish → END. */
function reviewGraph(counts: Counts) {
  return new Graph({ state: EngineState, reducers: { log: "append" }, name: "engine-review" })
    .addNode(
      "draft",
      counts.node("draft", () => ({ when: WHEN, blob: MEGABYTE })),
    )
    .addNode("review", counts.node("review"))
    .addNode("publish", counts.node("publish"))
    .addEdge(START, "draft")
    .addEdge("draft", "review")
    .addEdge("review", "publish")
    .addEdge("publish", END)
    .compile();
}

/** One "process": its own clock, interrupt service and agent over its view of the store. */
function processOver(
  store: Store,
  counts: Counts,
  options: { readonly at?: number; readonly interruptConfig: InterruptConfig },
) {
  const clock = new SimulatedClock(options.at ?? T0);
  const interrupts = new InterruptService({ store, clock, logger: silentLogger });
  const agent = new GraphAgent({
    graph: reviewGraph(counts),
    store,
    interrupts,
    clock,
    logger: silentLogger,
    leaseTtlMs: 1_000,
    interruptConfig: options.interruptConfig,
  });
  const events: GraphEvent[] = [];
  agent.on("run:started", (e) => events.push(e));
  agent.on("approval:requested", (e) => events.push(e));
  return { clock, interrupts, agent, events };
}

const SUSPENDING: InterruptConfig = { approvals: { review: {} } };
const TIMED: InterruptConfig = { approvals: { review: { timeoutMs: 60_000 } } };

export function describeEngine(
  name: string,
  makeStore: () => Promise<Store>,
  /** A second connection to the store `makeStore` just opened, as another process has. */
  connectAgain?: () => Promise<Store>,
): void {
  describe(`Engine: ${name}`, () => {
    let current: Store | undefined;
    let second: Store | undefined;
    beforeEach(async () => {
      current = await makeStore();
      second = connectAgain === undefined ? current : await connectAgain();
    });
    afterEach(async () => {
      if (second !== current) await second?.close();
      await current?.close();
      current = undefined;
      second = undefined;
    });
    const store = (): Store => {
      if (current === undefined) throw new Error("The store is used outside a test.");
      return current;
    };
    /** What the other processes of a test use: a connection of their own where there is one. */
    const other = (): Store => {
      if (second === undefined) throw new Error("The store is used outside a test.");
      return second;
    };
    const session = (label: string) => `engine-${label}-${randomUUID().slice(0, 8)}`;

    /** What every test checks at its end. */
    async function expectSound(
      sessionId: string,
      agent: GraphAgent<EngineState>,
      receipts: readonly { readonly id: string }[],
      outcome: (id: string) => ReturnType<InterruptService["outcome"]>,
      options: { readonly abandoned?: number } = {},
    ) {
      for (const receipt of receipts) await settledOutcome(outcome, receipt.id);
      expect(await expectNoMissingParent(store(), sessionId)).toBeGreaterThan(0);
      const history = await agent.history(sessionId);
      expect(history.filter((entry) => entry.error !== undefined)).toEqual([]);
      const { items } = await agent.auditTrail(sessionId, { limit: 500 });
      expectAuditInOrder(items, options);
      return { history, audit: items };
    }

    /** The state after draft, as every later checkpoint and node must see it. */
    function expectDraftState(state: Readonly<EngineState> | undefined) {
      expect(state?.when).toBeInstanceOf(Date);
      expect(state?.when.getTime()).toBe(WHEN.getTime());
      expect(state?.blob.length).toBe(MEGABYTE.length);
    }

    it("rejects at a suspended gate from another process, which then refuses to go on", async () => {
      const counts = new Counts();
      const id = session("reject");
      const one = processOver(store(), counts, { interruptConfig: SUSPENDING });
      const paused = await one.agent.run({}, { sessionId: id });
      expect(paused.status).toBe("paused");
      expect(paused.gate).toMatchObject({ node: "review", revision: 0 });
      expectDraftState((await one.agent.getState(id))?.state);

      const two = processOver(other(), counts, { interruptConfig: SUSPENDING });
      const reject = await two.interrupts.send(
        id,
        { type: "reject", reason: "off topic" },
        { sender: "ana" },
      );
      const rejected = await two.agent.resume(id);
      expect(rejected.status).toBe("rejected");
      expect(rejected.error?.code).toBe(new RunRejectedError("review", undefined).code);
      await expect(two.agent.resume(id)).rejects.toBeInstanceOf(SessionEndedError);
      await expect(one.agent.resume(id)).rejects.toBeInstanceOf(SessionEndedError);

      expect(counts.of()).toEqual({ draft: 1, review: 1 });
      const { history, audit } = await expectSound(id, two.agent, [reject], (m) =>
        two.interrupts.outcome(m),
      );
      expect(await settledOutcome((m) => one.interrupts.outcome(m), reject.id)).toMatchObject({
        status: "applied",
      });
      expect(history[0]?.status).toBe("rejected");
      expectDraftState(history[0]?.state);
      expect(audit.filter((e) => e.kind === "approval.decided")).toEqual([
        expect.objectContaining({
          actor: "ana",
          data: expect.objectContaining({ decision: "reject" }),
        }),
      ]);
    });

    it("resumes a run cancelled at a waiting gate in another process, at the gate", async () => {
      const counts = new Counts();
      const id = session("cancel");
      const one = processOver(store(), counts, { interruptConfig: TIMED });
      const run = one.agent.run({}, { sessionId: id });
      await eventually(
        () => one.events.some((e) => e.type === "approval:requested"),
        "the gate opens",
      );
      const cancel = await one.interrupts.send(id, { type: "cancel" }, { sender: "bob" });
      const cancelled = await run;
      expect(cancelled.status).toBe("cancelled");
      expect(cancelled.gate?.node).toBe("review");

      const two = processOver(other(), counts, { at: one.clock.now(), interruptConfig: TIMED });
      const resumed = two.agent.resume(id);
      // It waits at the same request: nothing after the gate runs.
      await eventually(() => two.clock.pending >= 2, "the resumed run waits at the gate");
      expect(counts.of()).toEqual({ draft: 1, review: 1 });
      const approve = await two.interrupts.send(
        id,
        { type: "approve", requestId: cancelled.gate!.requestId },
        { sender: "ana" },
      );
      const done = await resumed;
      expect(done.status).toBe("completed");
      expect(counts.of()).toEqual({ draft: 1, review: 1, publish: 1 });
      expectDraftState(counts.seen.find((s) => s.node === "publish")?.state);
      expectDraftState(done.state);

      await expectSound(id, two.agent, [cancel, approve], (m) => two.interrupts.outcome(m));
      expect(await settledOutcome((m) => two.interrupts.outcome(m), cancel.id)).toMatchObject({
        status: "applied",
      });
    });

    it("refuses a stop sent before the session was cancelled to the run another process resumes, and obeys one sent after", async () => {
      const counts = new Counts();
      const id = session("stale-stop");
      const watched = new CrashableStore(store());
      const one = processOver(watched, counts, { interruptConfig: TIMED });
      const run = one.agent.run({}, { sessionId: id });
      await eventually(
        () => one.events.some((e) => e.type === "approval:requested"),
        "the gate opens",
      );
      const two = processOver(other(), counts, { at: one.clock.now(), interruptConfig: TIMED });
      // The same person says it again, from elsewhere, while the first one ends the run.
      let again: { readonly id: string } | undefined;
      watched.before(endOfCancelledRun, async () => {
        again = await two.interrupts.send(id, "stop", { sender: "ana" });
      });
      const stop = await one.interrupts.send(id, "stop", { sender: "ana" });
      expect((await run).status).toBe("cancelled");
      expect(again).toBeDefined();

      // The resumed run is not cancelled: it waits at the gate again.
      const resuming = two.agent.resume(id);
      const refused = await settledOutcome((m) => two.interrupts.outcome(m), again!.id);
      expect(refused.status).toBe("refused");
      expect(refused.status === "refused" ? refused.error.code : undefined).toBe(
        "INTERRUPT_NOT_APPLICABLE",
      );
      await eventually(() => two.clock.pending >= 2, "the resumed run waits at the gate");
      const pause = await two.interrupts.send(id, { type: "pause", mode: "suspend" });
      const resumed = await resuming;
      expect(resumed.status).toBe("paused");
      expect(resumed.gate?.node).toBe("review");

      // Sent while the session is paused, after the cancel: it cancels the next run.
      const cancel = await two.interrupts.send(id, { type: "cancel" }, { sender: "bob" });
      const three = processOver(other(), counts, { at: two.clock.now(), interruptConfig: TIMED });
      expect((await three.agent.resume(id)).status).toBe("cancelled");
      expect(counts.of()).toEqual({ draft: 1, review: 1 });

      const { audit } = await expectSound(id, three.agent, [stop, again!, pause, cancel], (m) =>
        three.interrupts.outcome(m),
      );
      expect(audit.filter((e) => e.kind === "interrupt.refused")).toEqual([
        expect.objectContaining({
          actor: "ana",
          runId: resumed.runId,
          data: expect.objectContaining({
            id: again!.id,
            message: expect.stringContaining(
              "the session was already cancelled when this message arrived",
            ),
          }),
        }),
      ]);
      expect(await settledOutcome((m) => three.interrupts.outcome(m), cancel.id)).toMatchObject({
        status: "applied",
      });
    });

    it("takes over a session whose process died while a timed gate waited, after the lease ran out", async () => {
      const counts = new Counts();
      const id = session("crash");
      const dying = new CrashableStore(store());
      const one = processOver(dying, counts, { interruptConfig: TIMED });
      const run = one.agent.run({}, { sessionId: id });
      await eventually(() => one.clock.pending >= 2, "the first run waits at the gate");
      dying.crash();
      const latest = await store().checkpoints.latest(id, "");
      expect(latest?.meta?.gate).toMatchObject({ node: "review", revision: 0 });

      // Too early: the dead process still holds the session.
      const early = processOver(other(), counts, { at: one.clock.now(), interruptConfig: TIMED });
      await expect(early.agent.resume(id)).rejects.toMatchObject({ code: "SESSION_BUSY" });

      await one.clock.advance(1_000);
      const two = processOver(other(), counts, { at: one.clock.now(), interruptConfig: TIMED });
      const resumed = two.agent.resume(id);
      await eventually(() => two.clock.pending >= 2, "the new process waits at the gate");
      expect(counts.of()).toEqual({ draft: 1, review: 1 });
      const changes = await two.interrupts.send(
        id,
        { type: "request_changes", feedback: "shorter" },
        { sender: "ana" },
      );
      await eventually(
        () => two.events.filter((e) => e.type === "approval:requested").length === 1,
        "the second round is requested",
      );
      const approve = await two.interrupts.send(id, { type: "approve" }, { sender: "bob" });
      const done = await resumed;
      expect(done.status).toBe("completed");
      expect(done.state.log).toEqual(["draft", "review:shorter", "publish"]);
      expect(counts.of()).toEqual({ draft: 1, review: 2, publish: 1 });
      expectDraftState(done.state);

      await one.clock.runAll();
      expect((await run).status).not.toBe("completed");
      await expectSound(id, two.agent, [changes, approve], (m) => two.interrupts.outcome(m), {
        abandoned: 1,
      });
    });

    it("keeps the Date and the megabyte through a suspend, a resume elsewhere and a fork", async () => {
      const counts = new Counts();
      const id = session("data");
      const one = processOver(store(), counts, { interruptConfig: SUSPENDING });
      const paused = await one.agent.run({}, { sessionId: id });
      const two = processOver(other(), counts, { interruptConfig: SUSPENDING });
      const approve = await two.interrupts.send(id, { type: "approve" });
      const done = await two.agent.resume(id);
      expect(done.status).toBe("completed");
      const forked = await one.agent.fork(id, paused.checkpointId!, {
        update: { note: "again" },
        actor: "lead",
      });
      expect(forked.status).toBe("paused");
      for (const s of counts.seen.filter((s) => s.node !== "draft")) expectDraftState(s.state);
      expect(counts.of()).toEqual({ draft: 1, review: 1, publish: 1 });
      const { history } = await expectSound(id, one.agent, [approve], (m) =>
        one.interrupts.outcome(m),
      );
      for (const entry of history.filter((h) => h.path?.includes("draft"))) {
        expectDraftState(entry.state);
      }
      expect(history[0]?.state?.note).toBe("again");
    });

    it("runs sessions named like prototype members as any other, from gate to end in another process", async () => {
      const counts = new Counts();
      // Each once per store: the names are fixed, so a second test using them would collide.
      const ids = ["__proto__", "constructor", "toString", "hasOwnProperty", "prototype"];
      const one = processOver(store(), counts, { interruptConfig: SUSPENDING });
      const two = processOver(other(), counts, { interruptConfig: SUSPENDING });
      for (const id of ids) {
        expect((await one.agent.run({}, { sessionId: id })).status, id).toBe("paused");
      }
      const inbox = await two.agent.sessions({ status: "paused", limit: 500 });
      expect(inbox.items.map((s) => s.sessionId)).toEqual(expect.arrayContaining(ids));
      for (const id of ids) {
        const approve = await two.interrupts.send(id, { type: "approve" });
        const done = await two.agent.resume(id);
        expect(done.status, id).toBe("completed");
        expectDraftState(done.state);
        expect((await store().sessions.get(id))?.status, id).toBe("completed");
        await expectSound(id, two.agent, [approve], (m) => two.interrupts.outcome(m));
      }
      expect(counts.of()).toEqual({ draft: 5, review: 5, publish: 5 });
      // Nothing leaked onto the prototypes the names belong to.
      expect(Object.keys(Object.prototype)).toEqual([]);
      expect(({} as Record<string, unknown>).log).toBeUndefined();
    });

    crashPointCases(store, other, session);
    parallelCrashPointCases(store, session);
    stateCases(store, other, session);
    nestedGateCases(store, other, session);
    stepKeyCases(store, other, session);
    unwrittenEndCases(store, other, session);
  });
}
