/**
 * Engine suite cases: a state comes back from the store exactly as it went in, whatever the
 * backend — from `getState`, `history`, a resume in another process and a fork. Loading a
 * checkpoint re-parses the state through the graph's schema, so `z.coerce.date()` values are
 * `Date`s again (same milliseconds), in arrays and nested objects too; unicode (astral
 * characters, joiners, NUL, a lone surrogate, line separators), a megabyte of multi-byte text,
 * record keys named like `Object.prototype` members and `-0` (kept as `0`) survive as well.
 */
import { expect, it } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  InterruptService,
  type NodeContext,
  nestedGraph,
  parallelGroup,
  START,
  type Store,
  silentLogger,
} from "../../src/index.js";
import { eventually } from "./engine-checks.js";

const T0 = 1_700_000_000_000;
const UNICODE =
  "naïve café — 日本語 — 👩‍👩‍👧‍👦 — 𝄞 — \u0000 — \ud800 — \u2028\u2029 — \ufeff — עברית — e\u0301 — \\\"'`";
/** A megabyte of characters, most of them more than one byte in UTF-8. */
const MEGABYTE = "日本語🙂é".repeat(200_000);
const WHEN = new Date(T0 + 789);
const DATES = [new Date(0), new Date(-62_198_755_200_000), new Date(8.64e15), new Date(T0 + 1)];
const TAGS: Record<string, string> = {
  constructor: "c",
  toString: "t",
  hasOwnProperty: "h",
  日本語: "キー",
  "": "empty",
  "a.b": "dotted",
};

const RichState = z.object({
  text: z.string().default(""),
  big: z.string().default(""),
  when: z.coerce.date().default(() => new Date(0)),
  dates: z.array(z.coerce.date()).default([]),
  nested: z.object({ at: z.coerce.date(), label: z.string() }).optional(),
  tags: z.record(z.string(), z.string()).default({}),
  zero: z.number().default(1),
  note: z.string().default(""),
  seen: z.array(z.string()).default([]),
});
type RichState = z.output<typeof RichState>;

/** Every value as it was written; `where` names the read that gave it back. */
function expectExact(state: Readonly<RichState> | undefined, where: string): void {
  expect(state, where).toBeDefined();
  const s = state!;
  expect(s.text === UNICODE, `${where}: the unicode text`).toBe(true);
  expect(s.big.length, `${where}: the megabyte's length`).toBe(MEGABYTE.length);
  expect(s.big === MEGABYTE, `${where}: the megabyte`).toBe(true);
  expect(s.when, `${where}: when`).toBeInstanceOf(Date);
  expect(s.when.getTime(), `${where}: when`).toBe(WHEN.getTime());
  expect(
    s.dates.map((d) => (d instanceof Date ? d.getTime() : `not a Date: ${String(d)}`)),
    `${where}: dates`,
  ).toEqual(DATES.map((d) => d.getTime()));
  expect(s.nested?.at, `${where}: nested.at`).toBeInstanceOf(Date);
  expect(s.nested?.at.getTime(), `${where}: nested.at`).toBe(42);
  expect(Object.keys(s.tags), `${where}: tag keys`).toEqual(Object.keys(TAGS));
  for (const key of Object.keys(TAGS)) {
    expect(Object.hasOwn(s.tags, key), `${where}: own tag ${key}`).toBe(true);
    expect(s.tags[key], `${where}: tag ${key}`).toBe(TAGS[key]);
  }
  expect(Object.is(s.zero, 0), `${where}: -0 is kept as 0`).toBe(true);
}

function richGraph(seen: { node: string; state: Readonly<RichState> }[]) {
  const record = (node: string) => (state: Readonly<RichState>) => {
    seen.push({ node, state });
    return { seen: [node] };
  };
  return new Graph({ state: RichState, reducers: { seen: "append" }, name: "engine-state" })
    .addNode("write", () => ({
      text: UNICODE,
      big: MEGABYTE,
      when: WHEN,
      dates: DATES,
      nested: { at: new Date(42), label: UNICODE },
      tags: TAGS,
      zero: -0,
    }))
    .addNode("check", record("check"))
    .addNode("publish", record("publish"))
    .addEdge(START, "write")
    .addEdge("write", "check")
    .addEdge("check", "publish")
    .addEdge("publish", END)
    .compile();
}

function processOver(store: Store, seen: { node: string; state: Readonly<RichState> }[]) {
  const clock = new SimulatedClock(T0);
  const interrupts = new InterruptService({ store, clock, logger: silentLogger });
  const agent = new GraphAgent({
    graph: richGraph(seen),
    store,
    interrupts,
    clock,
    logger: silentLogger,
    interruptConfig: { approvals: { check: {} } },
  });
  return { interrupts, agent };
}

const GateState = z.object({
  at: z.coerce.date().default(() => new Date(0)),
  stamps: z.array(z.coerce.date()).default([]),
  title: z.string().default(""),
});
type GateState = z.output<typeof GateState>;

/**
 * START → review (gated; returns dates) → END, or with `nested` that graph as the nested node
 * `polish` of a parent (the gate on `polish/review`); records what each execution's context held.
 */
function gatedDates(store: Store, contexts: NodeContext["revision"][], nested = false) {
  const clock = new SimulatedClock(T0);
  const reviewing = new Graph({
    state: GateState,
    reducers: { stamps: "append" },
    name: "gate-dates",
  })
    .addNode("review", (_state: Readonly<GateState>, ctx: NodeContext) => {
      contexts.push(ctx.revision);
      const round = ctx.revision?.number ?? 0;
      return { at: new Date(T0 + round), stamps: [new Date(round)], title: `${UNICODE} ${round}` };
    })
    .addEdge(START, "review")
    .addEdge("review", END)
    .compile();
  const graph = nested
    ? new Graph({ state: GateState, reducers: { stamps: "append" }, name: "gate-parent" })
        .addNode("polish", nestedGraph<GateState, GateState>(reviewing))
        .addEdge(START, "polish")
        .addEdge("polish", END)
        .compile()
    : reviewing;
  const interrupts = new InterruptService({ store, clock, logger: silentLogger });
  const agent = new GraphAgent({
    graph,
    store,
    interrupts,
    clock,
    logger: silentLogger,
    interruptConfig: { approvals: { [nested ? "polish/review" : "review"]: {} } },
  });
  return { agent, interrupts };
}

/** An output of `review` in round `round`, as the node returned it. */
function expectOutput(output: unknown, round: number, where: string): void {
  const o = output as { at?: unknown; stamps?: unknown[]; title?: unknown } | undefined;
  expect(o?.at, `${where}: at`).toBeInstanceOf(Date);
  expect((o?.at as Date | undefined)?.getTime(), `${where}: at`).toBe(T0 + round);
  expect(o?.stamps?.[0], `${where}: stamps`).toBeInstanceOf(Date);
  expect((o?.stamps?.[0] as Date | undefined)?.getTime(), `${where}: stamps`).toBe(round);
  expect(o?.title === `${UNICODE} ${round}`, `${where}: title`).toBe(true);
}

/**
 * The state cases of the engine suite, on a fresh `store()` (and `other()`, a second
 * connection to it for the other processes) with fresh `session()` ids.
 */
export function stateCases(
  store: () => Store,
  other: () => Store,
  session: (label: string) => string,
): void {
  it("gives every value back as it went in, from getState, history, a resume elsewhere and a fork", async () => {
    const seen: { node: string; state: Readonly<RichState> }[] = [];
    const id = session("exact");
    const one = processOver(store(), seen);
    const paused = await one.agent.run({}, { sessionId: id });
    expect(paused.status).toBe("paused");
    expectExact(paused.state, "the paused run's result");
    expectExact(seen.find((s) => s.node === "check")?.state, "the gated node's input");

    // Another process reads what the store holds.
    const two = processOver(other(), seen);
    expectExact((await two.agent.getState(id))?.state, "getState");
    const history = await two.agent.history(id);
    expect(history.filter((h) => h.error !== undefined)).toEqual([]);
    const written = history.filter((h) => h.path?.includes("write"));
    expect(written.length).toBeGreaterThan(0);
    for (const entry of written) expectExact(entry.state, `history entry after ${entry.node}`);

    await two.interrupts.send(id, { type: "approve" });
    const done = await two.agent.resume(id);
    expect(done.status).toBe("completed");
    expect(done.state.seen).toEqual(["check", "publish"]);
    expectExact(seen.find((s) => s.node === "publish")?.state, "the resumed node's input");
    expectExact(done.state, "the resumed run's result");

    // A fork from the gate, in a third agent, with a unicode update.
    const three = processOver(other(), seen);
    const forked = await three.agent.fork(id, paused.checkpointId!, {
      update: { note: UNICODE },
      toSessionId: `${id}-fork`,
    });
    expect(forked.status).toBe("paused");
    expectExact(forked.state, "the fork's result");
    expect(forked.state.note === UNICODE).toBe(true);
    const forkState = (await one.agent.getState(`${id}-fork`))?.state;
    expectExact(forkState, "getState of the fork");
    expect(forkState?.note === UNICODE).toBe(true);
  });

  it("revives dates in run input given as ISO strings, and gives them back as Dates", async () => {
    const seen: { node: string; state: Readonly<RichState> }[] = [];
    const id = session("input-dates");
    const one = processOver(store(), seen);
    const paused = await one.agent.run(
      { when: "2024-02-29T23:59:59.999Z", dates: ["1970-01-01T00:00:00.000Z"] },
      { sessionId: id },
    );
    expect(paused.status).toBe("paused");
    // `write` overwrote them; the first checkpoint holds the input as given.
    const history = await processOver(other(), seen).agent.history(id);
    const first = history.at(-1)?.state;
    expect(first?.when).toBeInstanceOf(Date);
    expect(first?.when.toISOString()).toBe("2024-02-29T23:59:59.999Z");
    expect(first?.dates[0]).toBeInstanceOf(Date);
    expect(first?.dates[0]?.getTime()).toBe(0);
  });

  it.each([
    ["", false],
    [" inside a nested graph", true],
  ])(
    "gives a gate's output and its earlier rounds back as the node returned them%s, dates included, to reviewers and to the re-run node",
    async (_where, nested) => {
      const contexts: NodeContext["revision"][] = [];
      const id = session("gate-output");
      const one = gatedDates(store(), contexts, nested);
      const paused = await one.agent.run({}, { sessionId: id });
      expect(paused.status).toBe("paused");
      expectOutput(paused.gate?.output, 0, "the run's gate");

      const two = gatedDates(other(), contexts, nested);
      expectOutput((await two.agent.getState(id))?.meta.gate?.output, 0, "getState's gate");
      const gated = (await two.agent.history(id)).find((h) => h.meta?.gate !== undefined);
      expectOutput(gated?.meta?.gate?.output, 0, "history's gate");

      await two.interrupts.send(id, { type: "request_changes", feedback: "again" });
      const again = await two.agent.resume(id);
      expect(again.status).toBe("paused");
      // The re-run node, in another agent, gets its first output as it returned it.
      expect(contexts).toHaveLength(2);
      expect(contexts[1]?.number).toBe(1);
      expectOutput(contexts[1]?.history[0]?.output, 0, "ctx.revision's first round");
      expectOutput(again.gate?.output, 1, "the resumed run's gate");
      expectOutput(again.gate?.history[0]?.output, 0, "the resumed run's first round");

      const three = gatedDates(other(), contexts, nested);
      const gate = (await three.agent.getState(id))?.meta.gate;
      expectOutput(gate?.output, 1, "getState's second gate");
      expectOutput(gate?.history[0]?.output, 0, "getState's first round");
      await three.interrupts.send(id, { type: "approve" });
      const done = await three.agent.resume(id);
      expect(done.status).toBe("completed");
      expect(done.state.at.getTime()).toBe(T0 + 1);
      // request_changes restored the state from before the first round.
      expect(done.state.stamps.map((d) => d.getTime())).toEqual([1]);
    },
  );

  it("merges a parallel branch that finished before the run stopped with its dates, when another process resumes the group", async () => {
    const id = session("branch-dates");
    const runs: Record<string, number> = {};
    let hang = true;
    const seen: Readonly<GateState>[] = [];
    const graph = new Graph({ state: GateState, reducers: { stamps: "append" }, name: "branches" })
      .addNode(
        "group",
        parallelGroup<GateState>({
          branches: {
            dated: () => {
              runs.dated = (runs.dated ?? 0) + 1;
              return { at: new Date(T0 + 5), stamps: [new Date(6)], title: UNICODE };
            },
            slow: async (_state, ctx) => {
              runs.slow = (runs.slow ?? 0) + 1;
              if (hang) {
                await new Promise((_resolve, reject) => {
                  ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), {
                    once: true,
                  });
                });
              }
              return {};
            },
          },
        }),
      )
      .addNode("after", (state: Readonly<GateState>) => {
        seen.push(state);
        return {};
      })
      .addEdge(START, "group")
      .addEdge("group", "after")
      .addEdge("after", END)
      .compile();
    const agentOver = (over: Store) =>
      new GraphAgent({ graph, store: over, clock: new SimulatedClock(T0), logger: silentLogger });
    const one = agentOver(store());
    const running = one.run({}, { sessionId: id });
    await eventually(async () => {
      const progress = (await store().checkpoints.latest(id, ""))?.meta?.progress;
      return (progress?.data as { finished?: string } | undefined)?.finished === "dated";
    }, "the dated branch's progress is stored");
    one.cancel(id);
    expect((await running).status).toBe("cancelled");

    hang = false;
    const done = await agentOver(other()).resume(id);
    expect(done.status).toBe("completed");
    expect(runs).toEqual({ dated: 1, slow: 2 });
    for (const [where, state] of [
      ["the node after the group", seen[0]],
      ["the result", done.state],
    ] as const) {
      expect(state?.at, where).toBeInstanceOf(Date);
      expect(state?.at.getTime(), where).toBe(T0 + 5);
      expect(
        state?.stamps.map((d) => (d instanceof Date ? d.getTime() : String(d))),
        where,
      ).toEqual([6]);
      expect(state?.title === UNICODE, where).toBe(true);
    }
  });
}
