import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import {
  InvalidOptionError,
  StoreCorruptError,
  StoreLockedError,
  StoreUnavailableError,
  StoreVersionError,
} from "../../../src/errors.js";
import { silentLogger } from "../../../src/logger.js";
import type { StoreEvent } from "../../../src/store/notifier.js";
import { SQLITE_SCHEMA_VERSION } from "../../../src/store/sqlite/sqlite-migrations.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { checkpoint, enqueue, lease, message, T0 } from "../suite/fixtures.js";
import { spawnChild } from "./spawn-child.js";
import { tempDir } from "./temp-db.js";

const temp = tempDir("failures");
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});
const open = async (path: string, busyTimeoutMs?: number) => {
  const store = await SqliteStore.open({
    path,
    logger: silentLogger,
    ...(busyTimeoutMs === undefined ? {} : { busyTimeoutMs }),
  });
  stores.push(store);
  return store;
};
/** Runs raw SQL on the file through a connection of its own. */
const raw = (path: string, sql: string) => {
  const db = new Database(path);
  db.exec(sql);
  db.close();
};
const digest = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("SqliteStore failures", () => {
  it("gives StoreLockedError and writes nothing when another process holds the write lock past busyTimeoutMs", async () => {
    const path = temp.file();
    const store = await open(path, 200);
    await store.commit({ checkpoints: [checkpoint("s1", 1)], now: T0 });
    const child = spawnChild(["lock", path, "2000"]);
    expect(await child.line()).toBe("locked");
    const started = Date.now();
    const error = await store
      .commit({ checkpoints: [checkpoint("s1", 2)], now: T0 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await expect(store.interrupts.enqueue(message("s1"), WIDE, AUDIT)).rejects.toThrow(
      StoreLockedError,
    );
    // Reads do not wait for the writer (WAL).
    expect((await store.checkpoints.latest("s1", ""))?.seq).toBe(1);
    expect(await child.line()).toBe("released");
    expect((await store.checkpoints.latest("s1", ""))?.seq).toBe(1);
    expect((await store.interrupts.stats("s1")).queued).toBe(0);
    // Once the lock is gone the same batch goes through.
    await store.commit({ checkpoints: [checkpoint("s1", 2)], now: T0 });
    expect((await store.checkpoints.latest("s1", ""))?.seq).toBe(2);
  });

  it("hands back checkpoints it cannot read as unparsable, and other bad rows as StoreCorruptError", async () => {
    const path = temp.file();
    const store = await open(path);
    await store.commit({
      checkpoints: [checkpoint("s1", 1), checkpoint("s2", 1), checkpoint("s3", 1)],
      now: T0,
    });
    const queued = await enqueue(store, message("s1"));
    await store.audit.append({ sessionId: "s1", at: T0, kind: "custom.x", data: { a: 1 } });
    raw(
      path,
      `UPDATE checkpoints SET payload = '{"count": ' WHERE session_id = 's1';
       UPDATE checkpoints SET kind = 'sideways' WHERE session_id = 's2';
       UPDATE checkpoints SET next = 'null' WHERE session_id = 's3';
       UPDATE interrupts SET message = 'garbage';
       UPDATE audit SET data = '{' WHERE kind = 'custom.x';
       UPDATE sessions SET status = 'lost' WHERE session_id = 's2';`,
    );
    const unparsable = async (read: Promise<unknown>, problem: RegExp) => {
      const record = (await read) as { kind?: string; problem?: string } | undefined;
      expect(record?.kind).toBe("unparsable");
      expect(record?.problem).toMatch(problem);
    };
    await unparsable(store.checkpoints.get("s1", "", "s1|#1"), /payload is not valid JSON/);
    await unparsable(
      store.checkpoints.list("s1", "").then((all) => all[0]),
      /payload is not valid JSON/,
    );
    await unparsable(store.checkpoints.latest("s2", ""), /kind is sideways/);
    await unparsable(
      store.checkpoints.lineage("s3", "", "s3|#1").then((chain) => chain.at(-1)),
      /next/,
    );
    await expect(store.interrupts.list("s1")).rejects.toThrow(StoreCorruptError);
    await expect(store.interrupts.get(queued.id)).rejects.toThrow(StoreCorruptError);
    await expect(store.interrupts.claim("s1", { now: T0, owner: "o" })).rejects.toThrow(
      StoreCorruptError,
    );
    await expect(store.audit.list("s1")).rejects.toThrow(StoreCorruptError);
    await expect(store.sessions.get("s2")).rejects.toThrow(/status is lost/);
    await expect(store.sessions.list()).rejects.toThrow(StoreCorruptError);
    // A claim that failed on a corrupt message left it where it was.
    expect((await store.interrupts.stats("s1")).depth).toBe(1);
    // What is intact stays readable.
    expect(await store.sessions.get("s3")).toMatchObject({ checkpointId: "s3|#1" });
  });

  it("gives StoreCorruptError naming the delivery for a webhook delivery row it cannot read", async () => {
    const path = temp.file();
    const store = await open(path);
    const fields = {
      url: "https://h.example",
      type: "t",
      sessionId: "s1",
      checkpointId: "c",
      body: "{}",
    };
    await store.deliveries.add(
      [
        { ...fields, id: "good" },
        { ...fields, id: "bad" },
      ],
      T0,
    );
    raw(path, "UPDATE deliveries SET status = 'sent' WHERE id = 'bad'");
    const error = await store.deliveries.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as Error).message).toContain("deliveries (bad): status is sent");
    raw(path, "UPDATE deliveries SET status = 'pending', attempts = 'many' WHERE id = 'bad'");
    await expect(store.deliveries.list()).rejects.toThrow(
      /deliveries \(bad\): attempts is not a number/,
    );
  });

  it("refuses to write a checkpoint it could not read back, writing nothing of the batch", async () => {
    const store = await open(temp.file());
    for (const bad of [
      checkpoint("s1", 2, { status: "sleeping" as never }),
      checkpoint("s1", 2, { seq: 2.5 }),
      checkpoint("s1", 2, { kind: "partial" as never }),
    ]) {
      await expect(
        store.commit({
          checkpoints: [checkpoint("s1", 1), bad],
          audit: [{ sessionId: "s1", at: T0, kind: "custom.never" }],
          now: T0,
        }),
      ).rejects.toThrow(InvalidOptionError);
    }
    expect(await store.checkpoints.latest("s1", "")).toBeUndefined();
    expect((await store.audit.list("s1")).total).toBe(0);
  });

  it("drops the events of a transaction that failed after recording them, and delivers later ones", async () => {
    const path = temp.file();
    const store = await open(path);
    const events: StoreEvent[] = [];
    store.notifier.subscribe("s1", (event) => events.push(event));
    const queued = await enqueue(store, message("s1"));
    // A damaged sequence makes the batch's audit entry collide after its settlement was recorded.
    raw(path, "UPDATE audit_sequences SET last_seq = 0 WHERE session_id = 's1'");
    await expect(
      store.commit({
        settle: [
          {
            id: queued.id,
            outcome: { status: "applied", action: { type: "continue" }, appliedAt: T0 },
          },
        ],
        audit: [{ sessionId: "s1", at: T0, kind: "custom.collides" }],
        now: T0,
      }),
    ).rejects.toThrow(StoreUnavailableError);
    expect((await store.interrupts.get(queued.id))?.state).toBe("queued");
    await store.commit({ checkpoints: [checkpoint("s1", 1)], now: T0 });
    expect(events.map((e) => e.kind)).toEqual(["queued", "checkpoint"]);
  });

  it("gives StoreCorruptError for a file that is not a SQLite database", async () => {
    const path = temp.file();
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, "this is not a database, just some text that is long enough ".repeat(20));
    const before = digest(path);
    await expect(open(path)).rejects.toThrow(StoreCorruptError);
    expect(digest(path)).toBe(before);
  });

  it("gives StoreVersionError for a database of a newer schema and changes nothing", async () => {
    const path = temp.file();
    const store = await open(path);
    const held = await lease(store, "s1");
    await store.commit({ lease: held, checkpoints: [checkpoint("s1", 1)], now: T0 });
    await store.close();
    // As a newer version would leave it: a migration this build does not know, and the file
    // back in rollback-journal mode, which this build would change if it went ahead.
    raw(
      path,
      `INSERT INTO trellis_migrations (version, name, applied_at) VALUES (${SQLITE_SCHEMA_VERSION + 1}, 'from the future', 0); PRAGMA journal_mode = DELETE;`,
    );
    const before = digest(path);
    const error = await open(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreVersionError);
    expect(error).toMatchObject({
      found: SQLITE_SCHEMA_VERSION + 1,
      supported: SQLITE_SCHEMA_VERSION,
    });
    expect(digest(path)).toBe(before);
    const db = new Database(path, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("delete");
    db.close();
  });
});

const WIDE = { maxQueueSize: 10, maxSessions: 10 };
const AUDIT = { sessionId: "s1", at: T0, kind: "interrupt.received" } as const;
