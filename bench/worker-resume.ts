/**
 * How fast workers resume suspended sessions: 1,000 sessions of a 3-node graph wait at an
 * approval gate on `b` with an approve queued; with 1 and then 2 worker processes started, the
 * clock runs from the first worker's start until every session completed (gate → c → END).
 *
 *   npx tsx bench/worker-resume.ts                      1,000 sessions, 1 and 2 workers
 *   npx tsx bench/worker-resume.ts --sessions 2000 --concurrency 32
 *   DATABASE_URL=postgres://… npx tsx bench/worker-resume.ts
 *   npx tsx bench/worker-resume.ts --async-commit       the store's commits skip the WAL flush wait
 *
 * Each worker is a process of its own (this script with `--worker`), as `trellis worker` runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { z } from "zod";
import { END, Graph, GraphAgent, START } from "../src/index.js";
import { InterruptService } from "../src/interrupts/interrupt-service.js";
import { silentLogger } from "../src/logger.js";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import type { Store } from "../src/store/store.js";
import { PgBossDispatcher } from "../src/worker/pg-boss-dispatcher.js";
import { Worker } from "../src/worker/worker.js";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "16" },
    workers: { type: "string", default: "1,2" },
    worker: { type: "boolean", default: false },
    schema: { type: "string" },
    "async-commit": { type: "boolean", default: false },
  },
});
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** `--async-commit`: the store's sessions set `synchronous_commit = off` (round trips and CPU only). */
const storePool = values["async-commit"] ? { pool: { options: "-c synchronous_commit=off" } } : {};
const State = z.object({ log: z.array(z.string()).default([]) });

function review(store: Store, interrupts: InterruptService) {
  const graph = new Graph({ state: State, reducers: { log: "append" }, name: "review" })
    .addNode("a", () => ({ log: ["a"] }))
    .addNode("b", () => ({ log: ["b"] }))
    .addNode("c", () => ({ log: ["c"] }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile();
  return new GraphAgent({
    graph,
    store,
    interrupts,
    interruptConfig: { approvals: { b: {} } },
    telemetry: false,
    logger: silentLogger,
  });
}

/** `--worker`: one worker process until SIGTERM. */
async function workerMain(schema: string): Promise<void> {
  const store = await PostgresStore.connect({
    connectionString: DATABASE_URL,
    schema,
    logger: silentLogger,
    ...storePool,
  });
  const interrupts = new InterruptService({ store, logger: silentLogger });
  const dispatcher = await PgBossDispatcher.connect({
    connectionString: DATABASE_URL,
    schema: `${schema}_jobs`,
    logger: silentLogger,
  });
  const worker = new Worker({
    store,
    agents: { review: review(store, interrupts) },
    dispatcher,
    concurrency: Number(values.concurrency),
    pollMs: 20,
    wake: false,
    logger: silentLogger,
  });
  await worker.start();
  process.stdout.write("ready\n");
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  await worker.stop();
  await dispatcher.close();
  await store.close();
  process.exit(0);
}

function spawnWorker(schema: string): { child: ChildProcess; ready: Promise<number> } {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--worker",
      "--schema",
      schema,
      "--concurrency",
      String(values.concurrency),
      ...(values["async-commit"] ? ["--async-commit"] : []),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const ready = new Promise<number>((resolve) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve(performance.now());
    });
  });
  return { child, ready };
}

async function round(workers: number, sessions: number): Promise<number> {
  const schema = `bench_worker_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const store = await PostgresStore.connect({
    connectionString: DATABASE_URL,
    schema,
    logger: silentLogger,
  });
  const dispatcher = await PgBossDispatcher.connect({
    connectionString: DATABASE_URL,
    schema: `${schema}_jobs`,
    logger: silentLogger,
  });
  try {
    const interrupts = new InterruptService({ store, logger: silentLogger });
    const agent = review(store, interrupts);
    // Suspend every session at its gate, then queue its approve and its resume.
    const ids = Array.from({ length: sessions }, (_, i) => `s-${i}`);
    for (let i = 0; i < ids.length; i += 25) {
      await Promise.all(ids.slice(i, i + 25).map((id) => agent.run({}, { sessionId: id })));
    }
    for (let i = 0; i < ids.length; i += 25) {
      await Promise.all(
        ids.slice(i, i + 25).map(async (id) => {
          await interrupts.send(id, { type: "approve" });
          await dispatcher.resume({ agent: "review", sessionId: id });
        }),
      );
    }
    const children = Array.from({ length: workers }, () => spawnWorker(schema));
    const started = Math.min(...(await Promise.all(children.map((c) => c.ready))));
    for (;;) {
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM "${schema}".sessions WHERE status = 'completed'`,
      );
      if (rows[0].n === sessions) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) => {
            c.child.once("exit", resolve);
            c.child.kill("SIGTERM");
          }),
      ),
    );
    return sessions / seconds;
  } finally {
    await dispatcher.close();
    await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`);
    await admin.end();
  }
}

if (values.worker) {
  await workerMain(values.schema!);
} else {
  const sessions = Number(values.sessions);
  console.log(
    `Resuming ${sessions} suspended sessions (3-node graph, gate on b), concurrency ${values.concurrency} per worker${values["async-commit"] ? ", synchronous_commit off" : ""}`,
  );
  for (const workers of String(values.workers).split(",").map(Number)) {
    const rate = await round(workers, sessions);
    console.log(`${workers} worker${workers === 1 ? "" : "s"}: ${rate.toFixed(0)} sessions/s`);
  }
  process.exit(0);
}
