/**
 * Engine suite cases: a session waiting at a gate inside a nested graph is listed as waiting.
 * The nested graph's run writes its checkpoints in a thread of its own; while its timed gate
 * waits in process, the session's summary (what `sessions.get` and the inbox read) names the
 * gate, from any process sharing the store, and once the gate is decided, cancelled, or
 * resumed elsewhere, the summary says so.
 */
import { expect, it } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  type GraphEvent,
  InterruptService,
  nestedGraph,
  START,
  type Store,
  type StoreEvent,
  silentLogger,
} from "../../src/index.js";
import { CrashableStore } from "./crashable-store.js";
import { eventually } from "./engine-checks.js";

const T0 = 1_700_000_000_000;
const TIMEOUT_MS = 60_000;

const Notes = z.object({ log: z.array(z.string()).default([]) });
type Notes = z.output<typeof Notes>;

/**
 * Lets a test hold one of the nested graph's nodes (its last, `after`, unless told) until it
 * says so, from its execution `skip + 1` on.
 */
class Hold {
  reached = false;
  #runs = 0;
  constructor(
    readonly node: "draft" | "after" = "after",
    readonly skip = 0,
  ) {}
  async at(node: string): Promise<void> {
    if (node === this.node && this.#runs++ >= this.skip) await this.wait();
  }
  #release: () => void = () => {};
  readonly #released = new Promise<void>((resolve) => {
    this.#release = resolve;
  });
  release(): void {
    this.#release();
  }
  async wait(): Promise<void> {
    this.reached = true;
    await this.#released;
  }
}

/**
 * START → prep → child → finish → END, `child` a nested graph: draft → check → after, with a
 * timed gate on `child/check`; the node `hold` names waits for it when one is given.
 */
function outerGraph(hold: Hold | undefined) {
  const inner = new Graph({ state: Notes, reducers: { log: "append" }, name: "engine-inner" })
    .addNode("draft", async () => {
      await hold?.at("draft");
      return { log: ["draft"] };
    })
    .addNode("check", () => ({ log: ["check"] }))
    .addNode("after", async () => {
      await hold?.at("after");
      return { log: ["after"] };
    })
    .addEdge(START, "draft")
    .addEdge("draft", "check")
    .addEdge("check", "after")
    .addEdge("after", END)
    .compile();
  return new Graph({ state: Notes, reducers: { log: "append" }, name: "engine-outer" })
    .addNode("prep", () => ({ log: ["prep"] }))
    .addNode("child", nestedGraph<Notes, Notes>(inner))
    .addNode("finish", () => ({ log: ["finish"] }))
    .addEdge(START, "prep")
    .addEdge("prep", "child")
    .addEdge("child", "finish")
    .addEdge("finish", END)
    .compile();
}

/** One "process": its own clock, interrupt service and agent over its view of the store. */
function processOver(store: Store, options: { readonly at?: number; readonly hold?: Hold } = {}) {
  const clock = new SimulatedClock(options.at ?? T0);
  const interrupts = new InterruptService({ store, clock, logger: silentLogger });
  const agent = new GraphAgent({
    graph: outerGraph(options.hold),
    store,
    interrupts,
    clock,
    logger: silentLogger,
    leaseTtlMs: 1_000,
    interruptConfig: { approvals: { "child/check": { timeoutMs: TIMEOUT_MS } } },
  });
  const requested: Extract<GraphEvent, { type: "approval:requested" }>[] = [];
  agent.on("approval:requested", (e) => requested.push(e));
  return { clock, interrupts, agent, requested };
}

type Process = ReturnType<typeof processOver>;

export function nestedGateCases(
  store: () => Store,
  other: () => Store,
  session: (label: string) => string,
): void {
  /** Waits until the process's run waits at the nested gate (its timer and its lease's). */
  async function waitsAtGate(one: Process, rounds = 1): Promise<string> {
    await eventually(
      () => one.requested.length >= rounds && one.clock.pending >= 2,
      "the run waits at the nested gate",
    );
    return one.requested.at(-1)!.requestId;
  }

  /** An interrupt service of another process, over its view of the store. */
  const senderElsewhere = () =>
    new InterruptService({ store: other(), clock: new SimulatedClock(T0), logger: silentLogger });

  /** What another process reads of the session: the summary, and whether the inbox lists it. */
  async function seenElsewhere(id: string) {
    const summary = await other().sessions.get(id);
    const waiting = await other().sessions.list({ waiting: "approval" });
    return { summary, listed: waiting.items.some((s) => s.sessionId === id) };
  }

  async function expectWaiting(id: string, requestId: string, status = "running") {
    const { summary, listed } = await seenElsewhere(id);
    expect(summary).toMatchObject({ status, graph: "engine-outer" });
    expect(summary?.gate).toMatchObject({ node: "child/check", requestId, revision: 0 });
    expect(listed).toBe(true);
  }

  async function expectNotWaiting(id: string, status: string) {
    const { summary, listed } = await seenElsewhere(id);
    expect(summary?.status).toBe(status);
    expect(summary).not.toHaveProperty("gate");
    expect(listed).toBe(false);
  }

  it("lists a session whose nested graph waits at a timed gate, and no longer once it is approved elsewhere", async () => {
    const id = session("nested-gate");
    const hold = new Hold();
    const one = processOver(store(), { hold });
    const heard: StoreEvent[] = [];
    const stop = other().notifier.subscribe(id, (event) => heard.push(event));
    try {
      const run = one.agent.run({}, { sessionId: id });
      const requestId = await waitsAtGate(one);
      await expectWaiting(id, requestId);
      const summary = await other().sessions.get(id);
      expect(summary?.gate?.deadline).toBe(T0 + TIMEOUT_MS);
      expect(summary?.checkpointId).toBe((await other().checkpoints.latest(id, ""))?.id);
      // The other process hears of it, as the review page does.
      const opened = await other().checkpoints.latest(id, "child");
      expect(opened?.kind !== "unparsable" && opened?.meta.gate?.requestId).toBe(requestId);
      await eventually(
        () => heard.some((e) => e.kind === "checkpoint" && e.id === opened?.id),
        "the other store hears of the gate",
      );

      const two = new InterruptService({
        store: other(),
        clock: new SimulatedClock(T0),
        logger: silentLogger,
      });
      const approve = await two.send(id, { type: "approve", requestId }, { sender: "ana" });
      expect(await approve.decision).toMatchObject({ status: "applied" });
      // Decided, the nested run goes on: nothing waits for a reviewer any more.
      await eventually(() => hold.reached, "the nested graph runs on");
      await expectNotWaiting(id, "running");
      hold.release();
      const done = await run;
      expect(done.status).toBe("completed");
      expect(done.state.log).toEqual(["prep", "draft", "check", "after", "finish"]);
      await expectNotWaiting(id, "completed");
    } finally {
      stop();
    }
  });

  it("stops listing a session whose nested graph went back from its gate, until the gate opens again", async () => {
    const id = session("nested-go-back");
    const hold = new Hold("draft", 1);
    const one = processOver(store(), { hold });
    const run = one.agent.run({}, { sessionId: id });
    const first = await waitsAtGate(one);
    await expectWaiting(id, first);
    const two = senderElsewhere();
    const back = await two.send(id, { type: "go_back", to: "child/draft" }, { sender: "bob" });
    expect(await back.decision).toMatchObject({ status: "applied" });
    // The nested run drafts again: nothing waits for a reviewer until it reaches the gate.
    await eventually(() => hold.reached, "the nested graph drafts again");
    await expectNotWaiting(id, "running");
    hold.release();
    const second = await waitsAtGate(one, 2);
    expect(second).not.toBe(first);
    await expectWaiting(id, second);
    // The request it left is gone: an approval naming it is refused, the open one is applied.
    const stale = await two.send(id, { type: "approve", requestId: first }, { sender: "ana" });
    expect(await stale.decision).toMatchObject({ status: "refused" });
    await two.send(id, { type: "approve", requestId: second }, { sender: "ana" });
    const done = await run;
    expect(done.status).toBe("completed");
    expect(done.state.log).toEqual(["prep", "draft", "check", "after", "finish"]);
    await expectNotWaiting(id, "completed");
  });

  it("stops listing a session cancelled while its nested graph waited at a gate", async () => {
    const id = session("nested-cancel");
    const one = processOver(store());
    const run = one.agent.run({}, { sessionId: id });
    const requestId = await waitsAtGate(one);
    await expectWaiting(id, requestId);
    const two = senderElsewhere();
    await two.send(id, { type: "cancel" }, { sender: "bob" });
    const cancelled = await run;
    expect(cancelled.status).toBe("cancelled");
    await expectNotWaiting(id, "cancelled");
  });

  it("lists a session again while a resumed run waits at the nested gate it paused at", async () => {
    const id = session("nested-resume");
    const one = processOver(store());
    const run = one.agent.run({}, { sessionId: id });
    const requestId = await waitsAtGate(one);
    await one.interrupts.send(id, { type: "pause", mode: "suspend" }, { sender: "bob" });
    const paused = await run;
    expect(paused.status).toBe("paused");
    expect(paused.gate?.node).toBe("child/check");
    await expectWaiting(id, requestId, "paused");

    const two = processOver(other(), { at: one.clock.now() });
    const resumed = two.agent.resume(id);
    await eventually(() => two.clock.pending >= 2, "the resumed run waits at the nested gate");
    await expectWaiting(id, requestId);
    await two.interrupts.send(id, { type: "approve", requestId }, { sender: "ana" });
    const done = await resumed;
    expect(done.status).toBe("completed");
    await expectNotWaiting(id, "completed");
  });

  it("lists a session taken over from a process that died at a nested gate, while the new run waits there", async () => {
    const id = session("nested-crash");
    const dying = new CrashableStore(store());
    const one = processOver(dying);
    const run = one.agent.run({}, { sessionId: id });
    const requestId = await waitsAtGate(one);
    dying.crash();
    await expectWaiting(id, requestId);

    await one.clock.advance(1_000);
    const two = processOver(other(), { at: one.clock.now() });
    const resumed = two.agent.resume(id);
    await eventually(() => two.clock.pending >= 2, "the new process waits at the nested gate");
    await expectWaiting(id, requestId);
    await two.interrupts.send(id, { type: "approve", requestId }, { sender: "ana" });
    const done = await resumed;
    expect(done.status).toBe("completed");
    await expectNotWaiting(id, "completed");
    await one.clock.runAll();
    expect((await run).status).not.toBe("completed");
  });
}
