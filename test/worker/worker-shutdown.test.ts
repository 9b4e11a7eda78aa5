/**
 * SIGTERM to a `trellis worker` whose nodes are slow: it stops claiming, waits out its
 * deadline, exits 0, and the sessions it left are taken over by another worker from their last
 * checkpoint, with their side effects made once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { Worker } from "../../src/worker/worker.js";
import { WorkerProcess } from "./fixtures/worker-process.js";
import { checkSessions, claimSchema, flowEnd, type Setup, setUp, sql, until } from "./helpers.js";

const schema = claimSchema("worker_stop");
let setup: Setup;
let child: WorkerProcess | undefined;

beforeAll(async () => {
  setup = await setUp(schema);
});
afterAll(async () => {
  await child?.kill();
  await setup.close();
});

describe("a worker stopped with SIGTERM", () => {
  it("exits 0 by its deadline and leaves its sessions to another worker", async () => {
    child = new WorkerProcess(schema, ["--concurrency", "4", "--deadline-ms", "300"], {
      TRELLIS_TEST_NODE_MS: "1500",
    });
    await child.ready;
    const sessions = ["t-0", "t-1", "t-2", "t-3"];
    for (const sessionId of sessions) {
      await setup.dispatcher.start({ agent: "plain", sessionId, input: { seed: 7 } });
    }
    await until(
      async () => {
        const rows = await sql(`SELECT DISTINCT session FROM "${schema}".executions`);
        return rows.length === sessions.length;
      },
      20_000,
      "the child to start every session",
    );
    const other = new Worker({
      store: setup.store,
      agents: setup.agents,
      dispatcher: setup.dispatcher,
      pollMs: 50,
      sweepMs: 200,
      busyRetryMs: 100,
      logger: silentLogger,
    });
    await other.start();
    try {
      const stoppedAt = Date.now();
      child.process.kill("SIGTERM");
      const exit = await child.exited;
      expect(exit.code).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(5_000);
      expect(child.stdout).toMatch(/stopped: .*left to other workers/);
      expect(child.stderr).toMatch(/SIGTERM: stopping/);
      await until(
        async () =>
          (await setup.store.sessions.list({ status: "completed", limit: 1 })).total ===
          sessions.length,
        30_000,
        "the other worker to finish the sessions",
      );
      expect(other.health().takeovers).toBeGreaterThan(0);
      expect(other.health().claims).toBeGreaterThan(0);
    } finally {
      await other.stop();
    }
    await checkSessions(setup, sessions, () => flowEnd(7));
  }, 60_000);
});
