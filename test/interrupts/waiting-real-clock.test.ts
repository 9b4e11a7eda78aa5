/**
 * Waiting at a timed gate or in a `"wait"` pause must sleep, not spin: with the real clock, the
 * event loop stays free (a 5 ms interval keeps firing on time) and a decision sent a few
 * milliseconds in is applied then, not when the timeout runs out.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  GraphAgent,
  type InterruptConfig,
  InterruptService,
  MemoryStore,
  silentLogger,
} from "../../src/index.js";
import { deferred } from "../graph/helpers.js";
import { linearGraph, ofType, Probe, recordAll, until } from "./harness.js";

/** A probe, store, service and agent on the real clock. */
function realTime(interruptConfig: InterruptConfig) {
  const probe = new Probe();
  const store = new MemoryStore({ logger: silentLogger });
  const interrupts = new InterruptService({ store, logger: silentLogger });
  const agent = new GraphAgent({
    graph: linearGraph(probe),
    store,
    interrupts,
    logger: silentLogger,
    interruptConfig,
  });
  const events = recordAll(agent);
  return { probe, store, interrupts, agent, events };
}

/** Measures the largest gap between the ticks of a 5 ms interval until `stop()`. */
function ticker() {
  let last = performance.now();
  let maxGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return { maxGap: Math.max(maxGap, performance.now() - last), ticks };
    },
  };
}

let stopTicker: (() => unknown) | undefined;
afterEach(() => {
  stopTicker?.();
  stopTicker = undefined;
});

/**
 * Sends `message` 10 ms from now and waits for `run`, measuring the event loop meanwhile.
 * Returns how long the run took from now, and the interval's largest gap.
 */
async function decideIn10ms(
  t: ReturnType<typeof realTime>,
  run: Promise<unknown>,
  message: Parameters<InterruptService["send"]>[1],
) {
  const tick = ticker();
  stopTicker = () => tick.stop();
  const sent = deferred();
  setTimeout(() => {
    t.interrupts.send("s", message).then(
      () => sent.resolve(),
      (error: unknown) => sent.reject(error),
    );
  }, 10);
  const started = performance.now();
  await run;
  const ended = performance.now();
  const { maxGap, ticks } = tick.stop();
  await sent.promise;
  return { total: ended - started, maxGap, ticks };
}

const gateOnB = { approvals: { b: { timeoutMs: 300, onTimeout: "reject" as const } } };

/**
 * Below the 300 ms timeout, with room for a loaded machine: a wait that spins takes all of the
 * timeout and holds every timer meanwhile (and the decision sent 10 ms in then comes too late,
 * so the run does not complete).
 */
const PROMPT_MS = 250;
const MAX_GAP_MS = 200;

describe("waiting with the real clock", () => {
  it("does not spin at a timed gate after a message that does not decide it (continue sent while the node ran)", async () => {
    const t = realTime(gateOnB);
    const hold = t.probe.hold("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const kept = await t.interrupts.send("s", { type: "continue" });
    hold.release();
    await until(() => ofType(t.events, "approval:requested").length === 1);
    const timing = await decideIn10ms(t, run, { type: "approve" });

    expect(await run.then((r) => (r as { status: string }).status)).toBe("completed");
    expect(timing.total).toBeLessThan(PROMPT_MS);
    expect(timing.maxGap).toBeLessThan(MAX_GAP_MS);
    expect(timing.ticks).toBeGreaterThan(0);
    expect((await kept.decision).status).toBe("applied");
  });

  it.each([
    ["a pause", { type: "pause", mode: "suspend" }],
    ["a cancel", { type: "cancel" }],
  ] as const)("does not spin when a timed gate is resumed after %s", async (_what, stop) => {
    const t = realTime(gateOnB);
    const run = t.agent.run({}, { sessionId: "s" });
    await until(() => ofType(t.events, "approval:requested").length === 1);
    await t.interrupts.send("s", stop);
    const stopped = await run;
    expect(stopped.gate?.node).toBe("b");

    const resumed = t.agent.resume("s");
    const timing = await decideIn10ms(t, resumed, { type: "approve" });
    expect((await resumed).status).toBe("completed");
    expect(timing.total).toBeLessThan(PROMPT_MS);
    expect(timing.maxGap).toBeLessThan(MAX_GAP_MS);
    expect(t.probe.counts()).toEqual({ a: 1, b: 1, c: 1, d: 1 });
  });

  it("does not spin in a wait-pause", async () => {
    const t = realTime({});
    const hold = t.probe.hold("a");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    await t.interrupts.send("s", { type: "pause", mode: "wait", timeoutMs: 300 });
    hold.release();
    await until(() => ofType(t.events, "interrupt:applied").length === 1);
    const timing = await decideIn10ms(t, run, { type: "resume" });
    const result = await run;
    expect(result.status).toBe("completed");
    expect(timing.total).toBeLessThan(PROMPT_MS);
    expect(timing.maxGap).toBeLessThan(MAX_GAP_MS);
    expect(ofType(t.events, "interrupt:applied").map((e) => e.action.type)).toEqual([
      "pause",
      "resume",
    ]);
  });
});
