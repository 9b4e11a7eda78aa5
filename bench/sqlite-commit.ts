/**
 * The cost of one step's checkpoint in the SQLite store: `commit()` of a batch with one small
 * delta checkpoint, fenced by the session's lease (extended once half its time is spent) and
 * keeping the session summary (written when its status changes, here at the first step only),
 * against a bare prepared INSERT of the same JSON in its own transaction on the same pragmas
 * (WAL, synchronous = NORMAL). Each round runs a 200-step chain on a new session.
 *
 *   npx tsx bench/sqlite-commit.ts [rounds]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { deepFreeze } from "../src/freeze.js";
import { silentLogger } from "../src/logger.js";
import type { CheckpointRecord } from "../src/store/checkpoint-store.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";

const STEPS = 200;
const ROUNDS = Number(process.argv[2] ?? 40);
const WARMUP = 5;

/** A delta checkpoint as a run writes it, with an id of the form `<run id>.<seq>`. */
function record(sessionId: string, seq: number): CheckpointRecord {
  const runId = `run-${sessionId}`;
  return deepFreeze({
    sessionId,
    thread: "",
    id: `${runId}.${seq}`,
    seq,
    parentId: seq === 1 ? null : `${runId}.${seq - 1}`,
    runId,
    node: `node-${seq}`,
    iteration: seq,
    next: [`node-${seq + 1}`],
    status: "running",
    kind: "delta",
    delta: [["count", "set", seq]],
    meta: { v: 1 },
    createdAt: Date.now(),
  } as CheckpointRecord);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function storeRound(store: SqliteStore, round: number): Promise<number> {
  const sessionId = `bench-${round}`;
  const acquired = await store.sessions.acquire({
    sessionId,
    owner: "bench",
    token: `token-${round}`,
    ttlMs: 5_000,
    now: Date.now(),
  });
  if (!acquired.ok) throw new Error("lease refused");
  const lease = acquired.lease;
  const records = Array.from({ length: STEPS }, (_, i) => record(sessionId, i + 1));
  const start = process.hrtime.bigint();
  for (const checkpoint of records) {
    await store.commit({ lease, checkpoints: [checkpoint], now: Date.now() });
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e3;
  await store.sessions.release(lease);
  return elapsed / STEPS;
}

function bareRound(db: Database.Database, round: number): number {
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const insert = db.prepare(
    "INSERT INTO checkpoints (session_id, seq, id, payload) VALUES (?, ?, ?, ?)",
  );
  const sessionId = `bench-${round}`;
  const records = Array.from({ length: STEPS }, (_, i) => record(sessionId, i + 1));
  const start = process.hrtime.bigint();
  for (const checkpoint of records) {
    begin.run();
    insert.run(
      checkpoint.sessionId,
      checkpoint.seq,
      checkpoint.id,
      JSON.stringify(checkpoint.kind === "delta" ? checkpoint.delta : checkpoint.state),
    );
    commit.run();
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e3;
  return elapsed / STEPS;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "trellis-bench-sqlite-"));
  try {
    const store = await SqliteStore.open({ path: join(dir, "store.db"), logger: silentLogger });
    const db = new Database(join(dir, "bare.db"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec(
      "CREATE TABLE checkpoints (session_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (session_id, seq))",
    );
    const ours: number[] = [];
    const bare: number[] = [];
    const ratios: number[] = [];
    // Interleaved, so both see the same machine load.
    for (let round = 0; round < ROUNDS + WARMUP; round++) {
      const a = await storeRound(store, round);
      const b = bareRound(db, round);
      if (round >= WARMUP) {
        ours.push(a);
        bare.push(b);
        ratios.push(a / b);
      }
    }
    await store.close();
    db.close();
    const o = median(ours);
    const b = median(bare);
    console.log(
      `SqliteStore.commit (one delta under a lease):    ${o.toFixed(1)} µs/step (median of ${ROUNDS} chains of ${STEPS})`,
    );
    console.log(`bare prepared INSERT in a transaction:          ${b.toFixed(1)} µs/step`);
    console.log(
      `ratio: ${(o / b).toFixed(2)}× of the medians, ${median(ratios).toFixed(2)}× median of each chain's ratio`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
