import { statSync } from "node:fs";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { CheckpointConflictError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/logger.js";
import { seqOfId } from "../../../src/store/checkpoint-id.js";
import { CHECKPOINT_COLUMNS, checkpointRowValues } from "../../../src/store/checkpoint-row.js";
import type { CheckpointRecord } from "../../../src/store/checkpoint-store.js";
import {
  BLOCKING,
  BY_FOREIGN_ID,
  BY_SEQ_ID,
} from "../../../src/store/sqlite/sqlite-checkpoint-store.js";
import { SQLITE_MIGRATIONS } from "../../../src/store/sqlite/sqlite-migrations.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { checkpoint, lease, T0 } from "../suite/fixtures.js";
import { tempDir } from "./temp-db.js";

const temp = tempDir("checkpoint-ids");
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});
async function open(path: string, migrations = SQLITE_MIGRATIONS): Promise<SqliteStore> {
  const store = await SqliteStore.openWith({ path, logger: silentLogger }, { migrations });
  stores.push(store);
  return store;
}
/** A checkpoint of run `runId` with the given id (by default the form a run writes). */
function record(
  seq: number,
  runId: string,
  id = `${runId}.${seq}`,
  fields: Partial<CheckpointRecord> & { readonly thread?: string } = {},
): CheckpointRecord {
  return checkpoint("s1", seq, { id, runId, parentId: null, kind: "full", ...fields });
}
function plan(path: string, sql: string, ...params: unknown[]): string[] {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
  db.close();
  return rows.map((row) => row.detail);
}
/** The ids the partial index holds, read through it. */
function indexed(path: string): string[] {
  const db = new Database(path, { readonly: true });
  const ids = db
    .prepare(
      "SELECT id FROM checkpoints INDEXED BY checkpoints_by_foreign_id WHERE session_id = 's1' AND thread = '' AND id <> run_id || '.' || seq ORDER BY id",
    )
    .pluck()
    .all() as string[];
  db.close();
  return ids;
}

/**
 * Ids of every form in one thread: a run's own, others with no seq suffix, suffixes that name
 * another row's seq or no row at all, a run id of the wrong run, leading zeros.
 */
const MIXED: readonly CheckpointRecord[] = [
  record(1, "r", "custom-id"),
  record(2, "r"),
  record(3, "a.b", "a.b.c"),
  // Names seq 1, whose id is custom-id.
  record(4, "x", "x.1", { kind: "delta", parentId: "custom-id", delta: [["count", "set", 4]] }),
  // Its own seq, but not its run's id.
  record(5, "other", "r.5"),
  record(6, "r", "constructor"),
  record(7, "r", "r.007"),
  // Names seq 2, whose id is r.2 of another run.
  record(8, "q", "q.2"),
  record(9, "r", "r.9", { kind: "delta", parentId: "x.1", delta: [["count", "set", 9]] }),
  record(10, "r", "r.99999999999999999999"),
  record(11, "r", "r.-3"),
  record(12, "r", ""),
];

describe("SqliteStore: checkpoint ids", () => {
  it("reads the seq an id names, and nothing from other ids", () => {
    expect(seqOfId("run-1.5")).toBe(5);
    expect(seqOfId("a.b.12")).toBe(12);
    expect(seqOfId("r.-3")).toBe(-3);
    expect(seqOfId("r.0")).toBe(0);
    for (const id of ["custom", "r.", "r.007", "r.5x", "r.1e3", "r.99999999999999999999", ""]) {
      expect(seqOfId(id)).toBeNull();
    }
  });

  it("reads an id's seq as the pattern of a decimal integer SQLite writes does", () => {
    const pattern = /\.(-?(?:0|[1-9]\d{0,15}))$/;
    const byPattern = (id: string): number | null => {
      const match = pattern.exec(id);
      const seq = match === null ? Number.NaN : Number(match[1]);
      return Number.isSafeInteger(seq) ? seq : null;
    };
    const piece = fc.oneof(
      fc.constantFrom(".", "-", "0", "00", "9", "e", " ", "\n", "1.5", "\u0660"),
      fc.integer({ min: -1, max: 20 }).map((n) => "9".repeat(Math.max(n, 0))),
      fc.maxSafeInteger().map(String),
      fc.string({ maxLength: 4 }),
    );
    // Ids near the form: a run id, a dot, a sign, digits, and at times something after them.
    const nearForm = fc
      .tuple(
        fc.string({ maxLength: 6 }),
        fc.constantFrom("", "-", "--", "+"),
        fc.stringMatching(/^[0-9]{0,18}$/),
        fc.constantFrom("", "", "x", ".", "-"),
      )
      .map(([run, sign, digits, tail]) => `${run}.${sign}${digits}${tail}`);
    const id = fc.oneof(
      fc.array(piece, { maxLength: 6 }).map((p) => p.join("")),
      nearForm,
    );
    fc.assert(
      fc.property(id, (text) => {
        expect(Object.is(seqOfId(text), byPattern(text))).toBe(true);
      }),
      { numRuns: 5_000 },
    );
    expect(seqOfId(`r.${Number.MAX_SAFE_INTEGER}`)).toBe(Number.MAX_SAFE_INTEGER);
    expect(seqOfId("r.9999999999999999")).toBeNull();
  });

  it("finds an id of the form <run id>.<seq> down the primary key, and others through the partial index", async () => {
    const path = temp.file();
    const store = await open(path);
    const held = await lease(store, "s1");
    await store.commit({ lease: held, checkpoints: [record(1, "r")], now: T0 });
    expect(plan(path, BY_SEQ_ID, "s1", "", 1, "r.1")).toEqual([
      "SEARCH checkpoints USING PRIMARY KEY (session_id=? AND thread=? AND seq=?)",
    ]);
    expect(plan(path, BY_FOREIGN_ID, "s1", "", "custom")).toEqual([
      "SEARCH checkpoints USING INDEX checkpoints_by_foreign_id (session_id=? AND thread=? AND id=?)",
    ]);
    // The commit's checks seek too: none reads the thread through.
    const insertPlan = plan(path, BLOCKING, ...Array.from({ length: 11 }, () => "x"));
    expect(insertPlan.filter((line) => line.includes("checkpoints"))).toEqual([
      "SEARCH checkpoints USING PRIMARY KEY (session_id=? AND thread=?)",
      "SEARCH checkpoints USING PRIMARY KEY (session_id=? AND thread=? AND seq=?)",
      "SEARCH checkpoints USING INDEX checkpoints_by_foreign_id (session_id=? AND thread=? AND id=?)",
      "SEARCH checkpoints USING INDEX checkpoints_by_foreign_id (session_id=? AND thread=?)",
    ]);
    // A run's own ids are not in the index at all.
    expect(indexed(path)).toEqual([]);
    expect((await store.checkpoints.get("s1", "", "r.1"))?.seq).toBe(1);
  });

  it("finds every id exactly, whatever its form, and never another row's", async () => {
    const path = temp.file();
    const store = await open(path);
    const held = await lease(store, "s1");
    for (const each of MIXED) {
      await store.commit({ lease: held, checkpoints: [each], now: T0 + each.seq });
    }
    // The same ids in another thread and another session, at other seqs.
    const other = await lease(store, "s2");
    await store.commit({
      lease: other,
      checkpoints: [
        checkpoint("s2", 1, { id: "custom-id", runId: "r", kind: "full", parentId: null }),
        checkpoint("s2", 2, { id: "r.2", runId: "r", kind: "full", parentId: null }),
      ],
      now: T0,
    });
    await store.commit({
      lease: held,
      checkpoints: [record(3, "r", "r.2", { thread: "t" }), record(4, "r", "x.1", { thread: "t" })],
      now: T0,
    });
    for (const each of MIXED) {
      const found = await store.checkpoints.get("s1", "", each.id);
      expect(found, each.id).toMatchObject({ id: each.id, seq: each.seq, runId: each.runId });
    }
    expect(await store.checkpoints.get("s1", "t", "r.2")).toMatchObject({ seq: 3, thread: "t" });
    expect(await store.checkpoints.get("s1", "t", "x.1")).toMatchObject({ seq: 4, thread: "t" });
    expect(await store.checkpoints.get("s2", "", "r.2")).toMatchObject({ seq: 2, sessionId: "s2" });
    // Ids that name a seq whose row has another id, or no row, find nothing.
    for (const id of ["r.1", "r.4", "x.4", "r.3", "q.8", "r.13", "custom", "r.7", "r.10"]) {
      expect(await store.checkpoints.get("s1", "", id), id).toBeUndefined();
    }
    expect(await store.checkpoints.get("s1", "t", "custom-id")).toBeUndefined();
    // Parent walks cross forms.
    expect((await store.checkpoints.lineage("s1", "", "r.9")).map((r) => r.id)).toEqual([
      "custom-id",
      "x.1",
      "r.9",
    ]);
    // The partial index holds the other forms only.
    expect(indexed(path)).toEqual(
      MIXED.filter((each) => each.id !== `${each.runId}.${each.seq}`)
        .map((each) => each.id)
        .sort(),
    );
    // After pruning, what is kept is still found, and what is gone is not.
    // Seqs 9 to 12 are kept, and 4 and 1, which 9 is rebuilt from.
    await store.checkpoints.prune("s1", { keep: 4 });
    for (const id of ["a.b.c", "r.5", "constructor", "r.007"]) {
      expect(await store.checkpoints.get("s1", "", id), id).toBeUndefined();
    }
    expect(await store.checkpoints.get("s1", "", "r.-3")).toMatchObject({ seq: 11 });
    expect(await store.checkpoints.get("s1", "", "")).toMatchObject({ seq: 12 });
    expect(indexed(path)).toEqual(["", "custom-id", "r.-3", "r.99999999999999999999", "x.1"]);
    expect((await store.checkpoints.lineage("s1", "", "r.9")).map((r) => r.seq)).toEqual([1, 4, 9]);
    expect(await store.checkpoints.get("s1", "", "r.2")).toBeUndefined();
    expect(await store.checkpoints.get("s1", "", "q.2")).toBeUndefined();
    expect(await store.checkpoints.get("s1", "t", "x.1")).toMatchObject({ seq: 4 });
    // After the session's deletion, nothing.
    await store.sessions.release(held);
    await store.sessions.delete("s1", { now: T0 });
    for (const each of MIXED)
      expect(await store.checkpoints.get("s1", "", each.id)).toBeUndefined();
    expect(indexed(path)).toEqual([]);
    expect(await store.checkpoints.get("s2", "", "custom-id")).toMatchObject({ seq: 1 });
  });

  it("refuses an id already stored in the thread, of either form against either, writing nothing", async () => {
    const store = await open(temp.file());
    const held = await lease(store, "s1");
    await store.commit({
      lease: held,
      checkpoints: [record(1, "r"), record(2, "z", "r.4"), record(3, "r", "custom")],
      now: T0,
    });
    const duplicates: [string, CheckpointRecord][] = [
      ["a run's id again, under another run", record(4, "q", "r.1")],
      ["another form's id again", record(4, "r", "custom")],
      ["a run's own id, stored under another form", record(4, "r")],
      ["an id that names its own seq, stored under another form", record(4, "z", "r.4")],
    ];
    for (const [what, duplicate] of duplicates) {
      const error = await store
        .commit({ lease: held, checkpoints: [duplicate], now: T0 })
        .catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(CheckpointConflictError);
      expect(error, what).toMatchObject({
        code: "CHECKPOINT_CONFLICT",
        checkpointId: duplicate.id,
      });
    }
    // Within one batch: a run's own id, then the same id of another form.
    const clash = await store
      .commit({ lease: held, checkpoints: [record(4, "q"), record(5, "r", "q.4")], now: T0 })
      .catch((e: unknown) => e);
    expect(clash).toMatchObject({ code: "CHECKPOINT_CONFLICT", checkpointId: "q.4" });
    // Nothing of a refused batch is kept; the next seq still goes in.
    expect((await store.checkpoints.latest("s1", ""))?.seq).toBe(3);
    expect(await store.checkpoints.get("s1", "", "q.4")).toBeUndefined();
    expect((await store.checkpoints.get("s1", "", "r.4"))?.seq).toBe(2);
    await store.commit({ lease: held, checkpoints: [record(4, "q")], now: T0 });
    expect((await store.checkpoints.get("s1", "", "q.4"))?.seq).toBe(4);
    // The same id in another thread is no conflict.
    await store.commit({
      lease: held,
      checkpoints: [record(1, "r", "custom", { thread: "t" })],
      now: T0,
    });
    expect((await store.checkpoints.get("s1", "t", "custom"))?.thread).toBe("t");
  });

  it("keeps every lookup and conflict of a version 1 database once it is migrated", async () => {
    const path = temp.file();
    const v1 = await open(path, SQLITE_MIGRATIONS.slice(0, 1));
    const held = await lease(v1, "s1");
    await v1.close();
    // The rows as a build of version 1 wrote them: this build's statements need version 2.
    const writer = new Database(path);
    const insert = writer.prepare(
      `INSERT INTO checkpoints (${CHECKPOINT_COLUMNS}) VALUES (${CHECKPOINT_COLUMNS.split(",")
        .map(() => "?")
        .join(", ")})`,
    );
    for (const each of MIXED) insert.run(...checkpointRowValues(each));
    writer.close();
    const store = await open(path);
    const db = new Database(path, { readonly: true });
    expect(
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'checkpoints'")
        .pluck()
        .all(),
    ).toEqual(["checkpoints_by_foreign_id"]);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
    for (const each of MIXED) {
      expect(await store.checkpoints.get("s1", "", each.id), each.id).toMatchObject({
        seq: each.seq,
      });
    }
    expect((await store.checkpoints.lineage("s1", "", "r.9")).map((r) => r.seq)).toEqual([1, 4, 9]);
    expect(indexed(path)).toHaveLength(MIXED.filter((r) => r.id !== `${r.runId}.${r.seq}`).length);
    // The migrated file still refuses duplicates of both forms, with the lease it was taken with.
    for (const duplicate of [record(13, "q", "r.2"), record(13, "r", "a.b.c")]) {
      await expect(
        store.commit({ lease: held, checkpoints: [duplicate], now: T0 }),
      ).rejects.toThrow(CheckpointConflictError);
    }
    await store.commit({ lease: held, checkpoints: [record(13, "r")], now: T0 });
    expect((await store.checkpoints.get("s1", "", "r.13"))?.seq).toBe(13);
  });

  it("writes one page fewer per step for a run's own ids than for ids of another form", async () => {
    // WAL frames per commit of one delta under a lease, 200 steps on a new file each.
    async function framesPerStep(id: (seq: number) => string): Promise<number> {
      const path = temp.file();
      const store = await open(path);
      const held = await lease(store, "s1", { ttlMs: 3_600_000 });
      const step = (seq: number) =>
        record(seq, "run", id(seq), {
          kind: "delta",
          parentId: id(seq - 1),
          delta: [["count", "set", seq]],
        });
      await store.commit({ lease: held, checkpoints: [record(1, "run", id(1))], now: T0 });
      const before = statSync(`${path}-wal`).size;
      for (let seq = 2; seq <= 201; seq++) {
        await store.commit({ lease: held, checkpoints: [step(seq)], now: T0 + 1 });
      }
      const after = statSync(`${path}-wal`).size;
      const db = new Database(path, { readonly: true });
      const page = db.pragma("page_size", { simple: true }) as number;
      db.close();
      return (after - before) / (page + 24) / 200;
    }
    const own = await framesPerStep((seq) => `run.${seq}`);
    const foreign = await framesPerStep((seq) => `step-${seq}`);
    expect(own).toBeLessThan(1.5);
    expect(foreign - own).toBeGreaterThan(0.75);
  });
});
