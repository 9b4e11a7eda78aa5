/**
 * One worker process, as `trellis worker` runs it, written out: a PostgreSQL store, the agents,
 * a Worker over the job queue, and a clean stop on SIGTERM or Ctrl-C. Start it twice.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx --conditions=trellis-source samples/workers/worker.ts
 */
import { InterruptService } from "trellis";
import { PostgresStore } from "trellis/postgres";
import { Worker } from "trellis/worker";
import buildAgents from "./agents.js";

const connectionString = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const store = await PostgresStore.connect({ connectionString, schema: "workers_sample" });
const interrupts = new InterruptService({ store });
const agents = await buildAgents({ store, interrupts });
const worker = new Worker({
  store,
  agents,
  connectionString,
  jobsSchema: "workers_sample_jobs",
  concurrency: 4,
});
await worker.start();
console.log(`worker ${process.pid} ready`);

const stop = async () => {
  const { drained, abandoned } = await worker.stop({ deadlineMs: 10_000 });
  const h = worker.health();
  console.log(
    `worker ${process.pid} stopped: ${h.jobs.ran} runs, ${h.takeovers} takeovers, drained=${drained} (${abandoned.length} left to others)`,
  );
  await store.close();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
setInterval(() => {
  const h = worker.health();
  console.log(
    `worker ${process.pid}: ${h.active} active, ${h.claims} claimed, queue ${h.queueDepth}`,
  );
}, 5_000).unref();
