/**
 * The worker's PostgreSQL connections are cut mid-run (pg_terminate_backend, as a database
 * restart or a network cut would): runs that lose a write fail with a named store error and are
 * sent back, nothing is half written, and every session completes once connections are back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/logger.js";
import { Worker } from "../../src/worker/worker.js";
import { checkSessions, claimSchema, flowEnd, type Setup, setUp, sql, until } from "./helpers.js";

const schema = claimSchema("worker_conn");
let setup: Setup;

beforeAll(async () => {
  setup = await setUp(schema);
});
afterAll(async () => {
  await setup.close();
});

/** Ends every connection of the store (pool and listener) and of the job queue. */
async function cutConnections(): Promise<number> {
  const rows = await sql<{ pid: number }>(
    `SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity
     WHERE application_name IN ($1, $2, $3) AND pid <> pg_backend_pid()`,
    [`trellis ${schema}`, `trellis ${schema} listener`, `trellis ${schema}_jobs`],
  );
  return rows.length;
}

/**
 * Waits, up to 2 s, until some run has stored its start and not yet its end, so that a cut
 * then lands in the middle of a run rather than only between runs or at their first write.
 */
async function someRunUnderWay(): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (Date.now() < deadline) {
    const [row] = await sql<{ n: string }>(
      `SELECT count(*) AS n FROM "${schema}".sessions WHERE status = 'running'`,
    );
    if (Number(row?.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("a worker whose connections are cut", () => {
  it("sends failed runs back with a clear error and completes every session", async () => {
    const warnings: { message: string; attributes?: Record<string, unknown> }[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (message, attributes) =>
        warnings.push({ message, ...(attributes === undefined ? {} : { attributes }) }),
      error: (message, attributes) =>
        warnings.push({ message, ...(attributes === undefined ? {} : { attributes }) }),
    };
    const worker = new Worker({
      store: setup.store,
      agents: setup.agents,
      dispatcher: setup.dispatcher,
      concurrency: 6,
      pollMs: 50,
      sweepMs: 300,
      busyRetryMs: 100,
      storeRetryMs: 200,
      logger,
    });
    await worker.start();
    const sessions = Array.from({ length: 24 }, (_, i) => `c-${i}`);
    try {
      for (const sessionId of sessions) {
        await setup.dispatcher.start({ agent: "plain", sessionId, input: { seed: 5 } });
      }
      let cut = 0;
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 120));
        await someRunUnderWay();
        cut += await cutConnections();
      }
      expect(cut).toBeGreaterThan(0);
      await until(
        async () => {
          try {
            return (
              (await setup.store.sessions.list({ status: "completed", limit: 1 })).total ===
              sessions.length
            );
          } catch {
            return false;
          }
        },
        60_000,
        "every session to complete after the cuts",
      ).catch(async (error: unknown) => {
        const statuses = await sql(
          `SELECT session_id, status FROM "${schema}".sessions WHERE status <> 'completed'`,
        );
        const jobs = await sql(
          `SELECT name, state, singleton_key, data, output, retry_count FROM "${schema}_jobs".job WHERE state <> 'completed' OR output::text LIKE '%deferred%' OR output::text LIKE '%skipped%'`,
        );
        throw new Error(
          `${(error as Error).message}: ${JSON.stringify({ statuses, jobs, health: worker.health(), warnings })}`,
        );
      });
    } finally {
      await worker.stop({ deadlineMs: 5_000 });
    }
    await checkSessions(setup, sessions, () => flowEnd(5));
    // What the worker said was named: store errors, not silence.
    const health = worker.health();
    const said = JSON.stringify(warnings);
    expect(said.length).toBeGreaterThan(2);
    expect(said).toMatch(/STORE_UNAVAILABLE|unavailable|terminat|connection/i);
    // Some runs lost a write and were sent back rather than left failed. A run that lost a
    // write records its failure when the store takes that write; when the cut took every
    // connection at once it could not, and its session was continued from `running` instead.
    expect(health.jobs.deferred).toBeGreaterThan(0);
    const continued = await sql<{ n: string }>(
      `SELECT count(*) AS n FROM "${schema}".audit
       WHERE kind = 'run.resumed' AND data::jsonb->>'status' IN ('failed', 'running')`,
    );
    expect(Number(continued[0]!.n)).toBeGreaterThan(0);
  }, 120_000);
});
