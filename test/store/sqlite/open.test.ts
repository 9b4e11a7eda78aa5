import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import {
  InvalidOptionError,
  MissingDependencyError,
  StoreUnavailableError,
} from "../../../src/errors.js";
import { silentLogger } from "../../../src/logger.js";
import { loadSqliteDriver } from "../../../src/store/sqlite/sqlite-driver.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { SimulatedClock } from "../../../src/testing/simulated-clock.js";
import { checkpoint, enqueue, lease, message, T0 } from "../suite/fixtures.js";
import { tempDir } from "./temp-db.js";

const temp = tempDir("open");
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});
const open = async (options: Parameters<typeof SqliteStore.open>[0]) => {
  const store = await SqliteStore.open({ logger: silentLogger, ...options });
  stores.push(store);
  return store;
};

describe("SqliteStore.open", () => {
  it("creates the directory, the file and the schema, in WAL mode with synchronous NORMAL", async () => {
    const path = temp.file("nested/deeper");
    expect(existsSync(path)).toBe(false);
    const store = await open({ path });
    expect(existsSync(path)).toBe(true);
    expect(store.path).toBe(path);
    const db = new Database(path, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual([
      "audit",
      "audit_sequences",
      "checkpoints",
      "deliveries",
      "events",
      "interrupt_queues",
      "interrupts",
      "listeners",
      "sessions",
      "trellis_migrations",
    ]);
    db.close();
  });

  it("keeps everything across a close and a reopen", async () => {
    const path = temp.file();
    const first = await open({ path });
    const held = await lease(first, "s1", { ttlMs: 60_000 });
    const queued = await enqueue(first, message("s1"));
    await first.commit({
      lease: held,
      checkpoints: [
        checkpoint("s1", 1, { meta: { v: 1, graph: "g" } }),
        checkpoint("s1", 2),
        checkpoint("s1", 1, { thread: "child" }),
      ],
      audit: [{ sessionId: "s1", at: T0, kind: "run.started", data: { n: 1 } }],
      now: T0,
    });
    await first.close();
    await first.close();
    const again = await open({ path });
    expect((await again.checkpoints.lineage("s1", "", "s1|#2")).map((r) => r.seq)).toEqual([1, 2]);
    expect(await again.checkpoints.latest("s1", "child")).toMatchObject({ seq: 1 });
    expect(await again.sessions.get("s1")).toMatchObject({ graph: "g", checkpointId: "s1|#2" });
    expect((await again.interrupts.list("s1")).items).toEqual([queued]);
    expect((await again.audit.list("s1")).items.map((e) => e.kind)).toEqual([
      "interrupt.received",
      "run.started",
    ]);
    // The lease survived too: the holder can still commit, others cannot take it.
    expect((await again.sessions.acquire({ ...held, token: "other", now: T0 + 1 })).ok).toBe(false);
    await again.commit({ lease: held, checkpoints: [checkpoint("s1", 3)], now: T0 + 2 });
  });

  it("opens a private in-memory database for ':memory:'", async () => {
    const store = await open({ path: ":memory:" });
    await store.commit({ checkpoints: [checkpoint("s1", 1)], now: T0 });
    expect((await store.checkpoints.latest("s1", ""))?.seq).toBe(1);
  });

  it("refuses every operation after close with StoreUnavailableError", async () => {
    const store = await SqliteStore.open({ path: temp.file(), logger: silentLogger });
    await store.close();
    await expect(store.checkpoints.latest("s1", "")).rejects.toThrow(StoreUnavailableError);
    await expect(store.commit({ checkpoints: [checkpoint("s1", 1)], now: T0 })).rejects.toThrow(
      /after `close\(\)`/,
    );
  });

  it.each([
    [undefined, "options"],
    [{}, "path"],
    [{ path: "" }, "path"],
    [{ path: 42 }, "path"],
    [{ path: "x.db", busyTimeoutMs: -1 }, "busyTimeoutMs"],
    [{ path: "x.db", busyTimeoutMs: 1.5 }, "busyTimeoutMs"],
    [{ path: "x.db", pollIntervalMs: 0 }, "pollIntervalMs"],
    [{ path: "x.db", auditRetentionMs: 0 }, "auditRetentionMs"],
    [{ path: "x.db", retentionIntervalMs: 10 }, "retentionIntervalMs"],
    [{ path: "x.db", logger: console.log }, "logger"],
    [{ path: "x.db", clock: {} }, "clock"],
    [{ path: "x.db", busyTimeout: 5 }, "busyTimeout"],
  ])("refuses the options %o naming `%s`", async (options, option) => {
    const error = await SqliteStore.open(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
  });

  it("says which package to install when better-sqlite3 is missing", async () => {
    const missing = Object.assign(
      new Error("Cannot find package 'better-sqlite3' imported from x"),
      {
        code: "ERR_MODULE_NOT_FOUND",
      },
    );
    const error = await SqliteStore.openWith(
      { path: temp.file() },
      { importer: () => Promise.reject(missing) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect((error as MissingDependencyError).dependency).toBe("better-sqlite3");
    expect((error as Error).message).toContain("npm install better-sqlite3");
  });

  it("loads the driver once and reuses it", async () => {
    expect(await loadSqliteDriver()).toBe(await loadSqliteDriver());
  });
});

describe("SqliteStore retention", () => {
  it("prunes audit entries older than auditRetentionMs on open and on demand", async () => {
    const path = temp.file();
    const clock = new SimulatedClock(T0);
    const first = await open({ path, clock });
    await first.audit.append({ sessionId: "s1", at: T0 - 10_000, kind: "custom.old" });
    await first.audit.append({ sessionId: "s1", at: T0, kind: "custom.new" });
    await first.close();
    const again = await open({ path, clock, auditRetentionMs: 5_000 });
    expect((await again.audit.list("s1")).items.map((e) => e.kind)).toEqual(["custom.new"]);
    await clock.advance(6_000);
    expect(again.applyRetention()).toMatchObject({ audit: 1 });
    expect((await again.audit.list("s1")).total).toBe(0);
    // Seqs are never reused after pruning.
    expect(await again.audit.append({ sessionId: "s1", at: T0, kind: "custom.after" })).toBe(3);
  });

  it("keeps the audit trail when no retention is set", async () => {
    const store = await open({ path: temp.file() });
    await store.audit.append({ sessionId: "s1", at: 0, kind: "custom.ancient" });
    expect(store.applyRetention()).toMatchObject({ audit: 0 });
    expect((await store.audit.list("s1")).total).toBe(1);
  });
});
