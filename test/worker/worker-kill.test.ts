/**
 * Worker processes killed with SIGKILL at random points of their runs, again and again, while
 * sessions start, suspend at gates and are approved from this process: every session still
 * ends as an undisturbed run would, with a whole lineage, each approve applied once, and each
 * node's side effect made once. `TRELLIS_FAULT_RUNS` sets the number of kills (default 30).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerProcess } from "./fixtures/worker-process.js";
import {
  checkSessions,
  claimSchema,
  diagnose,
  flowEnd,
  type Setup,
  setUp,
  sql,
  until,
} from "./helpers.js";

const KILLS = Number(process.env.TRELLIS_FAULT_RUNS ?? "30");
const schema = claimSchema("worker_kill");
let setup: Setup;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  setup = await setUp(schema);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await setup.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("workers killed mid-run", () => {
  it(
    `finish every session as an undisturbed run would, through ${KILLS} SIGKILLs`,
    async () => {
      const spawn = () => new WorkerProcess(schema, ["--concurrency", "4"]);
      workers.push(spawn(), spawn());
      await Promise.all(workers.map((w) => w.ready));

      const sessions: string[] = [];
      const seeds = new Map<string, number>();
      let next = 0;
      const startSome = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const n = next++;
          const sessionId = `k-${n}`;
          sessions.push(sessionId);
          seeds.set(sessionId, n);
          await setup.dispatcher.start({
            agent: n % 2 === 0 ? "gated" : "plain",
            sessionId,
            input: { seed: n },
          });
        }
      };

      // Approve every gate once, by its request id, as a reviewer would.
      const approved = new Map<string, string>();
      let approving = true;
      const approver = (async () => {
        while (approving) {
          const page = await setup.store.sessions.list({ waiting: "approval", limit: 100 });
          for (const summary of page.items) {
            const requestId = summary.gate?.requestId;
            if (requestId === undefined || approved.has(requestId)) continue;
            const receipt = await setup.interrupts.send(summary.sessionId, {
              type: "approve",
              requestId,
            });
            approved.set(requestId, receipt.id);
          }
          await sleep(40);
        }
      })();

      await startSome(8);
      let takeoversSeen = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        await startSome(2);
        await sleep(80 + Math.random() * 250);
        const alive = workers.filter((w) => w.alive);
        const victim = alive[Math.floor(Math.random() * alive.length)]!;
        await victim.kill("SIGKILL");
        const at = workers.indexOf(victim);
        workers[at] = spawn();
        // Keep one worker up most of the time, so kills land on busy workers.
        if (kill % 2 === 1) await workers[at]!.ready;
      }
      await Promise.all(workers.map((w) => w.ready));

      await until(
        async () => {
          const page = await setup.store.sessions.list({ status: "completed", limit: 1 });
          return page.total === sessions.length;
        },
        90_000,
        "every session to complete",
      ).catch(async (error: unknown) => {
        throw new Error(`${(error as Error).message}: ${await diagnose(schema)}`);
      });
      approving = false;
      await approver;

      await checkSessions(setup, sessions, (id) => flowEnd(seeds.get(id)!));

      // Every approve applied exactly once; none lost.
      const gated = sessions.filter((id) => seeds.get(id)! % 2 === 0);
      expect(approved.size).toBe(gated.length);
      for (const messageId of approved.values()) {
        expect((await setup.interrupts.outcome(messageId))?.status).toBe("applied");
      }
      const applied = await sql<{ id: string; n: string }>(
        `SELECT data::jsonb->>'id' AS id, count(*) AS n FROM "${schema}".audit
       WHERE kind = 'interrupt.applied' GROUP BY 1`,
      );
      expect(applied).toHaveLength(approved.size);
      for (const row of applied) expect(Number(row.n)).toBe(1);

      // Some sessions were taken over from a dead worker: the kills did land mid-run.
      const resumedAfterCrash = await sql<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}".audit
       WHERE kind = 'run.resumed' AND data::jsonb->>'status' = 'running'`,
      );
      takeoversSeen = Number(resumedAfterCrash[0]!.n);
      expect(takeoversSeen).toBeGreaterThan(0);

      // SIGTERM: the workers stop cleanly, exit 0, and hold no lease. (A killed worker may have
      // left the lease of a session it finished just before it died: a dead holder's row.)
      await Promise.all(workers.map((w) => w.kill("SIGTERM")));
      for (const w of workers) expect((await w.exited).code).toBe(0);
      const leases = await sql<{ owner: string }>(`SELECT owner FROM "${schema}".leases`);
      const pids = workers.map((w) => `:${w.pid}:`);
      expect(leases.filter((l) => pids.some((pid) => `${l.owner}:`.includes(pid)))).toEqual([]);
    },
    60_000 + KILLS * 3_000,
  );
});
