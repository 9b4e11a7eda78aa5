/**
 * How long the PostgreSQL store's hot commit takes, against the floor it is built to approach.
 *
 *   npx tsx bench/postgres-commit.ts                    200 steps, 7 rounds
 *   npx tsx bench/postgres-commit.ts --steps 500 --rounds 9
 *   DATABASE_URL=postgres://… npx tsx bench/postgres-commit.ts
 *
 * Per step, as a run writes after each node of a chain:
 *   - bare insert: one prepared INSERT of the same checkpoint row into a table of the same
 *     shape, autocommitted (one round trip);
 *   - insert + notify: that insert and a pg_notify in one statement, with the store's
 *     listening connection up (what any event-sending write pays);
 *   - begin/insert/commit: the same insert in an explicit transaction (three round trips);
 *   - store.commit: one delta checkpoint with the run's lease (fencing, insert, lease
 *     extension, session summary and notification), what a GraphAgent commits per node.
 * Each is measured with the server's default durability (every commit waits for the WAL to
 * reach disk) and with `synchronous_commit = off` (what is left: round trips and CPU); the
 * store is opened with `stepCommit: "durable"`, so the connection's setting decides for it too
 * (its default, `"fast"`, is the second row). The median of the rounds is reported, in
 * milliseconds per step.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import pg from "pg";
import { silentLogger } from "../src/logger.js";
import { CHECKPOINT_META_VERSION } from "../src/store/checkpoint-meta.js";
import type { CheckpointRecord } from "../src/store/checkpoint-store.js";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import type { Lease } from "../src/store/session-store.js";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "200" },
    rounds: { type: "string", default: "7" },
  },
});
const STEPS = Number(values.steps);
const ROUNDS = Number(values.rounds);
const URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `bench_${randomBytes(4).toString("hex")}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function record(session: string, seq: number): CheckpointRecord {
  const fields = {
    sessionId: session,
    thread: "",
    id: `${session}#${seq}`,
    seq,
    parentId: seq === 1 ? null : `${session}#${seq - 1}`,
    runId: "run",
    node: seq === 1 ? null : `node-${seq}`,
    iteration: seq,
    next: [`node-${seq + 1}`],
    status: "running" as const,
    meta: { v: CHECKPOINT_META_VERSION as 1 },
    createdAt: 1_700_000_000_000 + seq,
  };
  return seq === 1
    ? { ...fields, kind: "full", state: { count: 0, log: [] } }
    : { ...fields, kind: "delta", delta: [["count", "set", seq] as const] };
}

async function perStep(work: (step: number, round: number) => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let round = -1; round < ROUNDS; round++) {
    const start = performance.now();
    for (let step = 1; step <= STEPS; step++) await work(step, round);
    if (round >= 0) samples.push((performance.now() - start) / STEPS);
  }
  return median(samples);
}

async function measure(durable: boolean): Promise<Record<string, number>> {
  const options = durable
    ? process.env.PGOPT
    : `-c synchronous_commit=off ${process.env.PGOPT ?? ""}`;
  // The store's listening connection is up for every variant, as it is in any deployment.
  const store = await PostgresStore.connect({
    ...(options ? { pool: { connectionString: URL, options } } : { connectionString: URL }),
    schema,
    poolSize: 1,
    stepCommit: "durable",
    logger: silentLogger,
  });
  const client = new pg.Client({ connectionString: URL, ...(options ? { options } : {}) });
  await client.connect();
  const columns =
    "session_id, thread, seq, id, parent_id, run_id, node, iteration, next, status, kind, payload, meta, created_at";
  const params = Array.from({ length: 14 }, (_, i) => `$${i + 1}`).join(", ");
  const row = (session: string, step: number) => {
    const r = record(session, step);
    return [
      r.sessionId,
      r.thread,
      r.seq,
      r.id,
      r.parentId,
      r.runId,
      r.node,
      r.iteration,
      JSON.stringify(r.next),
      r.status,
      r.kind,
      JSON.stringify(r.kind === "full" ? r.state : r.delta),
      JSON.stringify(r.meta),
      r.createdAt,
    ];
  };
  const insert = {
    name: "bare",
    text: `INSERT INTO "${schema}".bare (${columns}) VALUES (${params})`,
  };
  const bare = await perStep((step, round) =>
    client.query({ ...insert, values: row(`bare-${durable}-${round}`, step) }).then(() => {}),
  );
  const notified = await perStep((step, round) =>
    client
      .query({
        name: "notified",
        text: `WITH i AS (INSERT INTO "${schema}".bare (${columns}) VALUES (${params}))
          SELECT pg_notify($15, $16)`,
        values: [
          ...row(`notified-${durable}-${round}`, step),
          `${schema}_events`,
          JSON.stringify({
            kind: "checkpoint",
            sessionId: "x",
            id: `x#${step}`,
            status: "running",
          }),
        ],
      })
      .then(() => {}),
  );
  const transaction = await perStep(async (step, round) => {
    await client.query("BEGIN");
    await client.query({ ...insert, values: row(`tx-${durable}-${round}`, step) });
    await client.query("COMMIT");
  });
  await client.end();

  let lease: Lease | undefined;
  const commit = await perStep(async (step, round) => {
    const session = `chain-${durable}-${round}`;
    if (step === 1) {
      const taken = await store.sessions.acquire({
        sessionId: session,
        owner: "bench",
        token: `${session}-token`,
        ttlMs: 60_000,
        now: 0,
      });
      if (!taken.ok) throw new Error("the bench session is busy");
      lease = taken.lease;
    }
    await store.commit({ lease: lease!, checkpoints: [record(session, step)], now: step });
  });
  await store.close();
  return { bare, notified, transaction, commit };
}

const admin = new pg.Client({ connectionString: URL });
await admin.connect();
try {
  await (
    await PostgresStore.connect({ connectionString: URL, schema, logger: silentLogger })
  ).close();
  await admin.query(`CREATE TABLE "${schema}".bare (LIKE "${schema}".checkpoints INCLUDING ALL)`);
  const server = (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]
    ?.server_version;
  console.log(`PostgreSQL ${server}, ${STEPS} steps x ${ROUNDS} rounds, median ms per step\n`);
  console.log(
    "| durability | bare insert | insert + notify | begin/insert/commit | store.commit | commit / bare | commit / insert + notify |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const durable of [true, false]) {
    const r = await measure(durable);
    console.log(
      `| ${durable ? "synchronous_commit = on" : "synchronous_commit = off"} | ${r.bare!.toFixed(3)} | ${r.notified!.toFixed(3)} | ${r.transaction!.toFixed(3)} | ${r.commit!.toFixed(3)} | ${(r.commit! / r.bare!).toFixed(2)}x | ${(r.commit! / r.notified!).toFixed(2)}x |`,
    );
  }
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
