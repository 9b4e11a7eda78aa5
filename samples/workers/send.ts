/**
 * Plays the application and the reviewer: queues runs for the workers, then approves each
 * session as it reaches its gate. Nobody calls resume(): the approve wakes the session and a
 * worker continues it.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx --conditions=trellis-source samples/workers/send.ts 10
 */
import { InterruptService } from "trellis";
import { PostgresStore } from "trellis/postgres";
import { PgBossDispatcher } from "trellis/worker";

const connectionString = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const count = Number(process.argv[2] ?? "10");
const store = await PostgresStore.connect({ connectionString, schema: "workers_sample" });
const interrupts = new InterruptService({ store });
const dispatcher = await PgBossDispatcher.connect({
  connectionString,
  schema: "workers_sample_jobs",
});

const run = Date.now().toString(36);
const ids: string[] = [];
for (let i = 0; i < count; i++) {
  const sessionId = `note-${run}-${i}`;
  await dispatcher.start({ agent: "review", sessionId, input: { topic: `topic ${i}` } });
  ids.push(sessionId);
}
console.log(`queued ${count} runs`);

const approved = new Set<string>();
while (approved.size < count) {
  for (const id of ids) {
    const summary = await store.sessions.get(id);
    if (summary?.gate !== undefined && !approved.has(id)) {
      await interrupts.send(id, { type: "approve", requestId: summary.gate.requestId });
      approved.add(id);
      console.log(`approved ${id}`);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
}
for (;;) {
  const done = await Promise.all(ids.map((id) => store.sessions.get(id)));
  if (done.every((s) => s?.status === "completed")) break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
console.log(`all ${count} sessions completed; queue: ${JSON.stringify(await dispatcher.depth())}`);
await dispatcher.close();
await store.close();
