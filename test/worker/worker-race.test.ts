/**
 * Two worker processes race for the same sessions: every session is queued twice (two start
 * jobs) while both poll the queue, and each session is still run by exactly one worker, once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerProcess } from "./fixtures/worker-process.js";
import { checkSessions, claimSchema, flowEnd, type Setup, setUp, sql, until } from "./helpers.js";

const schema = claimSchema("worker_race");
let setup: Setup;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  setup = await setUp(schema);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await setup.close();
});

describe("two workers over one queue", () => {
  it("run each session with exactly one of them, once", async () => {
    const sessions = Array.from({ length: 30 }, (_, i) => `r-${i}`);
    workers.push(
      new WorkerProcess(schema, ["--concurrency", "8"]),
      new WorkerProcess(schema, ["--concurrency", "8"]),
    );
    await Promise.all(workers.map((w) => w.ready));
    for (const sessionId of sessions) {
      await setup.dispatcher.start({ agent: "plain", sessionId, input: { seed: 3 } });
      await setup.dispatcher.start({ agent: "plain", sessionId, input: { seed: 3 } });
    }
    await until(
      async () =>
        (await setup.store.sessions.list({ status: "completed", limit: 1 })).total ===
        sessions.length,
      60_000,
      "every session to complete",
    );
    // Let the duplicate jobs settle too: none may start a second run.
    await until(
      async () => {
        const depth = await setup.dispatcher.depth();
        const active = await sql<{ n: string }>(
          `SELECT count(*) AS n FROM "${schema}_jobs".job WHERE state IN ('active', 'retry', 'created')`,
        );
        return depth.start + depth.resume === 0 && Number(active[0]!.n) === 0;
      },
      30_000,
      "the duplicate jobs to settle",
    );
    await checkSessions(setup, sessions, () => flowEnd(3));
    const runs = await sql<{ session_id: string; n: string }>(
      `SELECT session_id, count(*) AS n FROM "${schema}".audit WHERE kind = 'run.started' GROUP BY 1`,
    );
    expect(runs).toHaveLength(sessions.length);
    for (const row of runs) expect(Number(row.n)).toBe(1);
    const owners = await sql<{ session: string; pids: string; n: string }>(
      `SELECT session, count(DISTINCT pid) AS pids, count(*) AS n FROM "${schema}".executions GROUP BY 1`,
    );
    expect(owners).toHaveLength(sessions.length);
    for (const row of owners) {
      expect(Number(row.pids)).toBe(1);
      expect(Number(row.n)).toBe(3);
    }
    // Both took part.
    const byPid = await sql<{ pid: number }>(`SELECT DISTINCT pid FROM "${schema}".executions`);
    expect(byPid.length).toBe(2);
  }, 120_000);
});
