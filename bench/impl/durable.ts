/**
 * The chain of (a) with a checkpoint after every node into a durable store: Trellis with its
 * SQLite and PostgreSQL stores, and the floors they are compared with, a bare insert of the
 * same row per step through the same driver. LangGraph's savers are in `langgraph-durable.ts`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { END, Graph, GraphAgent, recordPayload, START } from "../../src/index.js";
import { silentLogger } from "../../src/logger.js";
import type { Durability } from "../../src/run/checkpointer.js";
import type { Store } from "../../src/store/store.js";
import { chainNames, expectCount, makeBlob, type Runner } from "./runner.js";

/** The database the PostgreSQL scenarios use (`DATABASE_URL` overrides it). */
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A schema name no other run uses, dropped by the runner's `close()`. */
export function benchSchema(prefix: string): string {
  return `bench_${prefix}_${randomBytes(4).toString("hex")}`;
}

/** A new directory for one SQLite file, removed by the runner's `close()`. */
export function benchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `trellis-bench-${prefix}-`));
}

const State = z.object({ count: z.number().default(0), blob: z.string().default("") });

/** Bytes of the checkpoints a store holds for a session: payload, meta and next as JSON. */
export async function storeBytes(store: Store, sessionId: string): Promise<number> {
  const records = await store.checkpoints.list(sessionId, "");
  let bytes = 0;
  for (const r of records) {
    if (r.kind === "unparsable") continue;
    bytes +=
      JSON.stringify(recordPayload(r)).length +
      JSON.stringify(r.meta).length +
      JSON.stringify(r.next).length;
  }
  return bytes;
}

/**
 * A Trellis chain of `nodes` nodes, each `count + 1`, run by a `GraphAgent` into `store` with
 * `durability`. Between runs (untimed) the session is deleted, so each run starts empty.
 */
export async function trellisDurableChain(options: {
  nodes: number;
  durability: Durability;
  /** A string of this many bytes in the input that no node touches. Default 0. */
  blobBytes?: number;
  open: () => Promise<Store>;
  /** Called by `close()` after the store is closed (drops the schema, removes the file). */
  cleanup: () => Promise<void> | void;
}): Promise<Runner> {
  const store = await options.open();
  const graph = new Graph({ state: State, name: "chain" });
  const names = chainNames(options.nodes);
  for (const name of names) graph.addNode(name, (s) => ({ count: s.count + 1 }));
  graph.addEdge(START, names[0]!);
  names.forEach((name, i) => {
    graph.addEdge(name, names[i + 1] ?? END);
  });
  const agent = new GraphAgent({
    graph: graph.compile(),
    store,
    durability: options.durability,
    maxIterations: options.nodes + 10,
    logger: silentLogger,
  });
  // A new session per run, as runs of a deployment are: the rows of the run before are deleted
  // (untimed) but stay in the table as dead rows until vacuum, outside the new session's keys.
  let sessionId = "bench-0";
  const input = { count: 0, blob: makeBlob(options.blobBytes ?? 0) };
  return {
    steps: options.nodes,
    async run() {
      sessionId = nextSession(sessionId);
      const result = await agent.run(input, { sessionId });
      if (result.status !== "completed") {
        throw new Error(`trellis: run ended ${result.status}: ${result.error?.message}`);
      }
      expectCount(result.state.count, options.nodes, "trellis");
    },
    checkpointBytes: () => storeBytes(store, sessionId),
    reset: () => store.sessions.delete(sessionId, { now: Date.now() }),
    async close() {
      await store.close();
      await options.cleanup();
    },
  };
}

/** A Trellis chain into a new SQLite file (the store's defaults: WAL, synchronous NORMAL). */
export function trellisSqliteChain(nodes: number, durability: Durability = "step", blobBytes = 0) {
  const dir = benchDir("sqlite");
  return trellisDurableChain({
    nodes,
    durability,
    blobBytes,
    open: async () => {
      const { SqliteStore } = await import("../../src/store/sqlite/sqlite-store.js");
      return SqliteStore.open({ path: join(dir, "trellis.db"), logger: silentLogger });
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
}

/**
 * A Trellis chain into a new PostgreSQL schema. `stepCommit` is the store's option: `"fast"`
 * (its default) commits running steps without waiting for the disk, `"durable"` waits for it
 * at every step (the server's default durability).
 */
export function trellisPostgresChain(
  nodes: number,
  durability: Durability = "step",
  stepCommit: "fast" | "durable" = "fast",
) {
  const schema = benchSchema("trellis");
  return trellisDurableChain({
    nodes,
    durability,
    open: async () => {
      const { PostgresStore } = await import("../../src/store/postgres/postgres-store.js");
      return PostgresStore.connect({
        connectionString: DATABASE_URL,
        schema,
        stepCommit,
        logger: silentLogger,
      });
    },
    cleanup: () => dropSchema(schema),
  });
}

/** Drops a bench schema over a connection of its own. */
export async function dropSchema(schema: string): Promise<void> {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The session of the next run: each run writes a session of its own, as Trellis's do. */
function nextSession(last: string): string {
  return `bench-${Number(last.slice("bench-".length)) + 1}`;
}

/**
 * The row a step's checkpoint is: the same columns and about the same JSON as the store's
 * (a one-op delta, `next`, plain meta), so the floor stores as many bytes as Trellis does.
 */
function floorRow(session: string, seq: number): unknown[] {
  return [
    session,
    "",
    seq,
    `run.${seq}`,
    seq === 1 ? null : `run.${seq - 1}`,
    "run",
    `n${seq - 1}`,
    seq,
    JSON.stringify([`n${seq}`]),
    "running",
    "delta",
    JSON.stringify([["count", "set", seq]]),
    '{"v":1}',
    Date.now(),
  ];
}

const FLOOR_TABLE = `(
  session_id TEXT NOT NULL, thread TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL,
  parent_id TEXT, run_id TEXT NOT NULL, node TEXT, iteration INTEGER NOT NULL, next TEXT NOT NULL,
  status TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, meta TEXT NOT NULL,
  created_at BIGINT NOT NULL, PRIMARY KEY (session_id, thread, seq))`;
const FLOOR_INSERT = `INSERT INTO floor VALUES (${Array.from({ length: 14 }, () => "?").join(", ")})`;

/**
 * The SQLite floor: per step, one prepared INSERT of the checkpoint row into a table keyed like
 * the store's, in its own `BEGIN IMMEDIATE … COMMIT`, on the store's pragmas (WAL, synchronous
 * NORMAL). No engine, no lease, no id index, no summary: the least a durable step can cost.
 */
export async function bareSqliteChain(nodes: number): Promise<Runner> {
  const Database = (await import("better-sqlite3")).default;
  const dir = benchDir("floor");
  const db = new Database(join(dir, "floor.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`CREATE TABLE floor ${FLOOR_TABLE}`);
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const insert = db.prepare(FLOOR_INSERT);
  const clear = db.prepare("DELETE FROM floor WHERE session_id = ?");
  let session = "bench-0";
  return {
    steps: nodes,
    async run() {
      session = nextSession(session);
      for (let seq = 1; seq <= nodes; seq++) {
        begin.run();
        insert.run(...floorRow(session, seq));
        commit.run();
        // A run awaits its store after every step; so does the floor.
        await undefined;
      }
    },
    async reset() {
      clear.run(session);
    },
    async close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The PostgreSQL floor: per step, one named (prepared) INSERT of the checkpoint row,
 * autocommitted: one round trip and one WAL flush, at the server's default durability; with
 * `waitForDisk` false, on a connection with `synchronous_commit = off` (one round trip).
 */
export async function barePostgresChain(nodes: number, waitForDisk = true): Promise<Runner> {
  const pg = (await import("pg")).default;
  const schema = benchSchema("floor");
  const client = new pg.Client({
    connectionString: DATABASE_URL,
    ...(waitForDisk ? {} : { options: "-c synchronous_commit=off" }),
  });
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  await client.query(`CREATE TABLE "${schema}".floor ${FLOOR_TABLE}`);
  let n = 0;
  const text = `INSERT INTO "${schema}".floor VALUES (${Array.from({ length: 14 }, () => `$${++n}`).join(", ")})`;
  let session = "bench-0";
  return {
    steps: nodes,
    async run() {
      session = nextSession(session);
      for (let seq = 1; seq <= nodes; seq++) {
        await client.query({ name: "floor", text, values: floorRow(session, seq) });
      }
    },
    async reset() {
      await client.query(`DELETE FROM "${schema}".floor WHERE session_id = $1`, [session]);
    },
    async close() {
      await client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await client.end();
    },
  };
}
