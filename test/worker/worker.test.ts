import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { Worker } from "../../src/worker/worker.js";
import { checkSessions, claimSchema, flowEnd, type Setup, setUp, sql, until } from "./helpers.js";

const schema = claimSchema("worker");
let setup: Setup;

beforeAll(async () => {
  setup = await setUp(schema);
});
afterAll(async () => {
  await setup.close();
});

function worker(options: { concurrency?: number } = {}) {
  return new Worker({
    store: setup.store,
    agents: setup.agents,
    dispatcher: setup.dispatcher,
    pollMs: 50,
    sweepMs: 200,
    busyRetryMs: 100,
    logger: silentLogger,
    ...options,
  });
}

describe("Worker", () => {
  it("runs a start job and reports it done through its id", async () => {
    const w = worker();
    await w.start();
    try {
      const { id } = await setup.dispatcher.start({
        agent: "plain",
        sessionId: "w-start",
        input: { seed: 2 },
      });
      const done = await setup.dispatcher.settled(id, { pollMs: 50 });
      expect(done).toMatchObject({ state: "completed", kind: "start", sessionId: "w-start" });
      expect(done.output).toMatchObject({ result: "ran", status: "completed" });
      await checkSessions(setup, ["w-start"], () => flowEnd(2));
      expect(w.health()).toMatchObject({ state: "running", claims: 1, active: 0 });
    } finally {
      await w.stop();
    }
    expect(w.health().state).toBe("stopped");
  });

  it("resumes a session at its gate when an approve is sent, with no resume() call", async () => {
    const w = worker();
    await w.start();
    try {
      const { id } = await setup.dispatcher.start({
        agent: "gated",
        sessionId: "w-gate",
        input: { seed: 1 },
      });
      expect((await setup.dispatcher.settled(id, { pollMs: 50 })).output).toMatchObject({
        status: "paused",
      });
      const receipt = await setup.interrupts.send("w-gate", { type: "approve" });
      expect((await receipt.decision).status).toBe("applied");
      await until(
        async () => (await setup.store.sessions.get("w-gate"))?.status === "completed",
        10_000,
        "the approved session to complete",
      );
      await checkSessions(setup, ["w-gate"], () => flowEnd(1));
    } finally {
      await w.stop();
    }
  });

  it("collapses duplicate resumes of one session while one is queued", async () => {
    const first = await setup.dispatcher.resume({ agent: "gated", sessionId: "w-dup" });
    const second = await setup.dispatcher.resume({ agent: "gated", sessionId: "w-dup" });
    const third = await setup.dispatcher.retry({ agent: "gated", sessionId: "w-dup" });
    expect(second.id).toBe(first.id);
    expect(third.id).toBe(first.id);
    const w = worker();
    await w.start();
    try {
      const done = await setup.dispatcher.settled(first.id, { pollMs: 50 });
      // Nothing to resume: the session has no checkpoint.
      expect(done.state).toBe("failed");
      expect(done.output?.error?.code).toBe("CHECKPOINT_NOT_FOUND");
    } finally {
      await w.stop();
    }
  });

  it("starts a session later whose lease was held before anything of it was written", async () => {
    // A lease with nothing written under it: what an acquire whose answer a cut connection lost,
    // or a release that failed, leaves behind until it expires.
    const held = await setup.store.sessions.acquire({
      sessionId: "w-held",
      owner: "elsewhere",
      token: "w-held-token",
      ttlMs: 1_000,
      now: Date.now(),
    });
    expect(held.ok).toBe(true);
    const w = worker();
    await w.start();
    try {
      const { id } = await setup.dispatcher.start({
        agent: "plain",
        sessionId: "w-held",
        input: { seed: 4 },
      });
      const first = await setup.dispatcher.settled(id, { pollMs: 50 });
      expect(first.output).toMatchObject({ result: "deferred" });
      await until(
        async () => (await setup.store.sessions.get("w-held"))?.status === "completed",
        10_000,
        "the held session to start once its lease expired",
      );
      await checkSessions(setup, ["w-held"], () => flowEnd(4));
    } finally {
      await w.stop();
    }
  });

  it("never runs more than `concurrency` sessions; the rest wait in the queue", async () => {
    const w = worker({ concurrency: 2 });
    let most = 0;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push(
        (await setup.dispatcher.start({ agent: "plain", sessionId: `w-flood-${i}`, input: {} })).id,
      );
    }
    expect((await setup.dispatcher.depth()).start).toBeGreaterThanOrEqual(12);
    await w.start();
    try {
      await until(
        async () => {
          most = Math.max(most, w.health().active);
          const statuses = await Promise.all(ids.map((id) => setup.dispatcher.status(id)));
          return statuses.every((s) => s?.state === "completed");
        },
        30_000,
        "the flood to drain",
      );
    } finally {
      await w.stop();
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    // Overlap of executions across sessions: never more than two sessions at once.
    const rows = await sql<{ session: string; started_at: number }>(
      `SELECT session, started_at FROM "${schema}".executions WHERE session LIKE 'w-flood-%' ORDER BY started_at`,
    );
    expect(rows).toHaveLength(36);
    await checkSessions(
      setup,
      ids.map((_, i) => `w-flood-${i}`),
      () => flowEnd(0),
    );
  });

  it("refuses bad options with named errors", () => {
    expect(() => worker({ concurrency: 0 })).toThrow(/concurrency/);
    expect(
      () => new Worker({ store: setup.store, agents: setup.agents, logger: silentLogger }),
    ).toThrow(/dispatcher/);
  });
});
