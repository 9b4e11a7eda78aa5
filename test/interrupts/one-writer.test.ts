import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/entries/testing.js";
import { MemoryStore, SessionBusyError, SessionNotFinishedError } from "../../src/index.js";
import { CrashableStore } from "../engine/crashable-store.js";
import { decided, linearGraph, reviewGraph, setup } from "./harness.js";

/** Two agents (two "processes") over one store, sharing a probe and a clock. */
function twoAgents(options: Parameters<typeof setup>[0] = {}) {
  const first = setup(options);
  const second = setup({ ...options, store: first.store, probe: first.probe, clock: first.clock });
  return { first, second, probe: first.probe, store: first.store };
}

/** Every checkpoint of the session's own thread, oldest first. */
async function records(store: ReturnType<typeof setup>["store"], sessionId: string) {
  return [...(await store.checkpoints.list(sessionId, ""))].reverse();
}

describe("one writer per session", () => {
  it("lets only one of two agents resume a session at once; the other writes nothing", async () => {
    const { first, second, probe, store } = twoAgents();
    await first.interrupts.send("s", { type: "pause" });
    expect((await first.agent.run({}, { sessionId: "s" })).status).toBe("paused");
    const before = (await records(store, "s")).length;

    const hold = probe.hold("a");
    const winner = first.agent.resume("s");
    await hold.entered;
    const loser = await second.agent.resume("s").catch((e: unknown) => e);
    expect(loser).toBeInstanceOf(SessionBusyError);
    // The loser left no trace: every checkpoint since belongs to the winner's run.
    const during = await records(store, "s");
    expect(during.length).toBe(before);
    hold.release();
    const result = await winner;

    expect(result.status).toBe("completed");
    expect(probe.counts()).toEqual({ a: 1, b: 1, c: 1, d: 1 });
    const after = (await records(store, "s")).slice(before);
    expect(new Set(after.map((r) => r.runId))).toEqual(new Set([result.runId]));
    expect(after.map((r) => r.parentId)).toEqual([
      during.at(-1)!.id,
      ...after.slice(0, -1).map((r) => r.id),
    ]);
    const state = await second.agent.getState("s");
    expect(state?.state).toEqual(result.state);
    expect(state?.status).toBe("completed");
    const { items } = await first.agent.auditTrail("s");
    expect(items.filter((e) => e.kind === "run.resumed")).toHaveLength(1);
  });

  it("refuses a run of another agent started in the same tick", async () => {
    const { first, second, probe, store } = twoAgents();
    const results = await Promise.allSettled([
      first.agent.run({}, { sessionId: "s" }),
      second.agent.run({}, { sessionId: "s" }),
    ]);
    const fulfilled = results.filter((r) => r.status === "fulfilled");
    const rejected = results.filter((r) => r.status === "rejected");
    expect(fulfilled).toHaveLength(1);
    expect(rejected.map((r) => (r as PromiseRejectedResult).reason)).toEqual([
      expect.any(SessionBusyError),
    ]);
    expect(probe.counts()).toEqual({ a: 1, b: 1, c: 1, d: 1 });
    const written = await records(store, "s");
    expect(new Set(written.map((r) => r.runId)).size).toBe(1);
    const { items } = await first.agent.auditTrail("s");
    expect(items.filter((e) => e.kind === "run.started")).toHaveLength(1);
  });

  it("lets only one of two agents resuming in the same tick run, and the session's history stays one lineage", async () => {
    const { first, second, probe, store } = twoAgents();
    await first.interrupts.send("s", { type: "pause" });
    expect((await first.agent.run({}, { sessionId: "s" })).status).toBe("paused");
    const paused = await first.agent.getState("s");
    const results = await Promise.allSettled([first.agent.resume("s"), second.agent.resume("s")]);
    const winners = results.filter((r) => r.status === "fulfilled");
    expect(winners).toHaveLength(1);
    expect(results.find((r) => r.status === "rejected")).toMatchObject({
      reason: expect.any(SessionBusyError),
    });
    expect(probe.counts()).toEqual({ a: 1, b: 1, c: 1, d: 1 });
    // Walk back from the latest checkpoint: every parent is there, down to the first one.
    const all = await records(store, "s");
    const byId = new Map(all.map((r) => [r.id, r]));
    let at = all.at(-1);
    let steps = 0;
    while (at?.parentId) {
      at = byId.get(at.parentId);
      expect(at).toBeDefined();
      steps++;
    }
    expect(steps).toBe(all.length - 1);
    expect(all.some((r) => r.id === paused?.id)).toBe(true);
  });

  it("takes the lease to fork: a fork of a busy session is refused and writes nothing", async () => {
    const { first, second, probe, store } = twoAgents();
    const hold = probe.hold("c");
    const running = first.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const [input] = await records(store, "s");
    const count = (await records(store, "s")).length;
    await expect(second.agent.fork("s", input!.id)).rejects.toBeInstanceOf(SessionBusyError);
    // Forking into a busy session is refused too.
    expect((await second.agent.run({}, { sessionId: "t" })).status).toBe("completed");
    await expect(
      second.agent.fork("t", (await records(store, "t"))[0]!.id, { toSessionId: "s" }),
    ).rejects.toBeInstanceOf(SessionBusyError);
    expect((await records(store, "s")).length).toBe(count);
    hold.release();
    const result = await running;
    expect(result.status).toBe("completed");
    expect(result.path).toEqual(["a", "b", "c", "d"]);
  });

  it("holds the lease while a fork runs, so nobody else writes the session meanwhile", async () => {
    const { first, second, probe, store } = twoAgents();
    expect((await first.agent.run({}, { sessionId: "s" })).status).toBe("completed");
    const [input] = await records(store, "s");
    const hold = probe.hold("b");
    const fork = first.agent.fork("s", input!.id);
    await hold.entered;
    await expect(second.agent.run({}, { sessionId: "s" })).rejects.toBeInstanceOf(SessionBusyError);
    await expect(second.agent.resume("s")).rejects.toBeInstanceOf(SessionBusyError);
    hold.release();
    expect((await fork).status).toBe("completed");
  });

  it("refuses run() on a session paused at a gate with SessionNotFinishedError, keeping the queued approve for the resume", async () => {
    const { first, second, probe } = twoAgents({
      graph: reviewGraph,
      interruptConfig: { approvals: { review: {} } },
    });
    expect((await first.agent.run({}, { sessionId: "s" })).status).toBe("paused");
    const approve = await first.interrupts.send("s", { type: "approve" });
    const error = await second.agent.run({}, { sessionId: "s" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionNotFinishedError);
    expect((error as Error).message).toContain("review");
    expect(await first.interrupts.hasPending("s")).toBe(true);

    const result = await second.agent.resume("s");
    expect(result.status).toBe("completed");
    expect((await decided(approve)).status).toBe("applied");
    expect(probe.counts()).toEqual({ draft: 1, review: 1, publish: 1 });
  });

  it("refuses run() on a paused session unless it starts over", async () => {
    const t = setup({ graph: linearGraph });
    await t.interrupts.send("s", { type: "pause" });
    expect((await t.agent.run({}, { sessionId: "s" })).status).toBe("paused");
    await expect(t.agent.run({}, { sessionId: "s" })).rejects.toBeInstanceOf(
      SessionNotFinishedError,
    );
    const again = await t.agent.run({}, { sessionId: "s", startOver: true });
    expect(again.status).toBe("completed");
  });

  it("refuses run() on a session whose process died mid-run unless it starts over", async () => {
    const underlying = new MemoryStore();
    const dying = new CrashableStore(underlying);
    const first = setup({ store: dying, leaseTtlMs: 1_000 });
    const hold = first.probe.hold("b");
    void first.agent.run({}, { sessionId: "s" });
    await hold.entered;
    dying.crash();
    hold.release();
    await first.clock.advance(1_000);

    const second = setup({
      store: underlying,
      clock: new SimulatedClock(first.clock.now()),
      leaseTtlMs: 1_000,
    });
    const error = await second.agent.run({}, { sessionId: "s" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionNotFinishedError);
    expect((error as SessionNotFinishedError).status).toBe("running");
    expect(second.probe.count("a")).toBe(0);
    const resumed = await second.agent.resume("s");
    expect(resumed.status).toBe("completed");
    expect(second.probe.counts()).toEqual({ b: 1, c: 1, d: 1 });
    await first.clock.runAll();
  });
});
