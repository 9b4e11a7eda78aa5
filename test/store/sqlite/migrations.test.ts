import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import {
  StoreCorruptError,
  StoreUnavailableError,
  StoreVersionError,
  TrellisError,
} from "../../../src/errors.js";
import { silentLogger } from "../../../src/logger.js";
import {
  SQLITE_MIGRATIONS,
  SQLITE_SCHEMA_VERSION,
  type SqliteMigration,
} from "../../../src/store/sqlite/sqlite-migrations.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { FIXTURE_T0 as T0 } from "./fixtures/make-schema-v1.js";
import { writeV1File } from "./fixtures/v1-file.js";
import { tempDir } from "./temp-db.js";

const temp = tempDir("migrations");
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

/** A new database file built from the committed version 1 fixture. */
const fromFixture = (): string => writeV1File(temp.file());
const open = async (path: string, migrations?: readonly SqliteMigration[]) => {
  const store = await SqliteStore.openWith(
    { path, logger: silentLogger },
    migrations === undefined ? {} : { migrations },
  );
  stores.push(store);
  return store;
};
const applied = (path: string) => {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare("SELECT version, name FROM trellis_migrations ORDER BY version").all();
  db.close();
  return rows;
};
/** Every version this build applies, as `trellis_migrations` lists them. */
const CURRENT = SQLITE_MIGRATIONS.map(({ version, name }) => ({ version, name }));
/** The next schema version, as a later build might add it. */
const LATER: SqliteMigration = {
  version: SQLITE_SCHEMA_VERSION + 1,
  name: "notes on sessions",
  sql: "CREATE TABLE session_notes (session_id TEXT PRIMARY KEY, note TEXT NOT NULL);",
};

describe("SqliteStore schema migrations", () => {
  it("opens and reads a database written at schema version 1", async () => {
    const store = await open(fromFixture());
    const lineage = await store.checkpoints.lineage("s1", "", "c2");
    expect(lineage.map((r) => [r.id, r.kind])).toEqual([
      ["c1", "full"],
      ["c2", "delta"],
    ]);
    expect(lineage[0]).toMatchObject({ state: { topic: "sqlite", notes: [] }, next: ["draft"] });
    expect(lineage[1]).toMatchObject({ delta: [["notes", "append", ["first"]]], status: "paused" });
    expect(await store.checkpoints.latest("s1", "draft")).toMatchObject({
      id: "n1",
      state: { inner: true },
    });
    expect(await store.sessions.get("s1")).toMatchObject({
      graph: "review-graph",
      status: "paused",
      checkpointId: "c2",
      createdAt: T0 + 5,
      updatedAt: T0 + 6,
      gate: { requestId: "r1", output: { draft: "ünïcødé ✓" } },
    });
    expect(await store.interrupts.stats("s1")).toEqual({
      queued: 3,
      applied: 1,
      refused: 0,
      expired: 0,
      cleared: 0,
      depth: 1,
      inFlight: 1,
      totalDecisionMs: 5,
      maxDecisionMs: 5,
      lastSeq: 3,
    });
    expect(await store.interrupts.get("m-applied")).toMatchObject({
      state: "applied",
      outcome: { status: "applied", source: "action" },
    });
    expect(await store.interrupts.get("m-claimed")).toMatchObject({
      state: "claimed",
      claimedBy: "lease-1",
    });
    expect((await store.interrupts.list("s1")).items.map((m) => m.id)).toEqual(["m-queued"]);
    expect((await store.audit.list("s1")).items.map((e) => e.kind)).toEqual([
      "interrupt.received",
      "interrupt.received",
      "interrupt.received",
      "approval.requested",
    ]);
    // The lease is still held, and the next entries and messages continue the sequences.
    const busy = await store.sessions.acquire({
      sessionId: "s1",
      owner: "me",
      token: "t",
      ttlMs: 1,
      now: T0 + 100,
    });
    expect(busy).toEqual({ ok: false, owner: "host:1:agent", expiresAt: T0 + 5_006 });
    expect(await store.audit.append({ sessionId: "s2", at: T0, kind: "custom.next" })).toBe(2);
  });

  it("migrates a version 1 database to the current version, keeping its data", async () => {
    const path = fromFixture();
    expect(applied(path)).toEqual([{ version: 1, name: "initial schema" }]);
    const store = await open(path);
    expect(applied(path)).toEqual(CURRENT);
    expect(CURRENT.slice(1)).toEqual([
      { version: 2, name: "partial index of checkpoint ids" },
      { version: 3, name: "thread of a checkpoint event" },
      { version: 4, name: "webhook outbox" },
    ]);
    expect((await store.checkpoints.latest("s1", ""))?.id).toBe("c2");
    expect((await store.checkpoints.get("s1", "draft", "n1"))?.seq).toBe(1);
    const delivery = { url: "https://h.example", type: "t", sessionId: "s1", body: "{}" };
    expect(await store.deliveries.add([{ ...delivery, id: "d1", checkpointId: "c2" }], 1)).toEqual([
      "d1",
    ]);
    await store.close();
    // Opening again applies nothing.
    await open(path);
    expect(applied(path)).toEqual(CURRENT);
  });

  it("applies every missing migration to a version 1 database in order, in one go", async () => {
    const path = fromFixture();
    const store = await open(path, [...SQLITE_MIGRATIONS, LATER]);
    expect(applied(path)).toEqual([...CURRENT, { version: LATER.version, name: LATER.name }]);
    expect((await store.checkpoints.latest("s1", ""))?.id).toBe("c2");
    await store.close();
    // Opening again applies nothing; this build, which does not know the later version, refuses the file.
    await open(path, [...SQLITE_MIGRATIONS, LATER]);
    expect(applied(path)).toHaveLength(CURRENT.length + 1);
    await expect(open(path)).rejects.toThrow(StoreVersionError);
  });

  it("leaves the database as it was when a migration fails, earlier ones of the same open too", async () => {
    const path = fromFixture();
    const broken: SqliteMigration = {
      version: SQLITE_SCHEMA_VERSION + 1,
      name: "broken",
      sql: "CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);",
    };
    await expect(open(path, [...SQLITE_MIGRATIONS, broken])).rejects.toThrow(StoreUnavailableError);
    // Version 2 was applied in the same transaction, and is rolled back with it.
    expect(applied(path)).toEqual([{ version: 1, name: "initial schema" }]);
    const db = new Database(path, { readonly: true });
    expect(
      db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get(),
    ).toBeUndefined();
    expect(
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'checkpoints'")
        .pluck()
        .all(),
    ).toEqual(["checkpoints_by_id"]);
    db.close();
    expect((await (await open(path)).checkpoints.latest("s1", ""))?.id).toBe("c2");
  });

  it("refuses a migration list with a gap, and a database whose applied versions have one", async () => {
    await expect(
      open(temp.file(), [...SQLITE_MIGRATIONS, { ...LATER, version: LATER.version + 1 }]),
    ).rejects.toThrow(TrellisError);
    // Version 1 relabelled 2: version 1 is missing.
    const path = fromFixture();
    const db = new Database(path);
    db.exec("UPDATE trellis_migrations SET version = 2");
    db.close();
    await expect(open(path, [...SQLITE_MIGRATIONS, LATER])).rejects.toThrow(StoreCorruptError);
  });
});
