import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.js";
import type { StoreEvent } from "../../../src/store/notifier.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { checkpoint, eventually, lease, leaseRequest, T0 } from "../suite/fixtures.js";
import { tempDir } from "./temp-db.js";

const temp = tempDir("step-writes");
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});
async function open(path: string): Promise<SqliteStore> {
  const store = await SqliteStore.open({ path, logger: silentLogger });
  stores.push(store);
  return store;
}
/** The sessions row as stored, read over a connection of its own. */
function sessionRow(path: string, sessionId: string): Record<string, unknown> {
  const db = new Database(path, { readonly: true });
  const row = db.prepare("SELECT * FROM sessions WHERE session_id = ?").get(sessionId);
  db.close();
  return row as Record<string, unknown>;
}

describe("SqliteStore: what a run's step writes", () => {
  it("leaves the sessions row alone for running steps, yet the summary shows the latest checkpoint", async () => {
    const path = temp.file();
    const store = await open(path);
    const held = await lease(store, "s1", { ttlMs: 1_000 });
    await store.commit({ lease: held, checkpoints: [checkpoint("s1", 1)], now: T0 });
    const first = sessionRow(path, "s1");
    for (let seq = 2; seq <= 5; seq++) {
      await store.commit({ lease: held, checkpoints: [checkpoint("s1", seq)], now: T0 + seq });
    }
    expect(sessionRow(path, "s1")).toEqual(first);
    expect(await store.sessions.get("s1")).toMatchObject({
      status: "running",
      checkpointId: "s1|#5",
      createdAt: checkpoint("s1", 1).createdAt,
      updatedAt: checkpoint("s1", 5).createdAt,
    });
    expect((await store.sessions.list()).items.map((s) => s.checkpointId)).toEqual(["s1|#5"]);
    // A status change is written at once.
    await store.commit({
      lease: held,
      checkpoints: [checkpoint("s1", 6, { status: "paused" })],
      now: T0 + 6,
    });
    expect(sessionRow(path, "s1")).toMatchObject({ status: "paused" });
    expect((await store.sessions.list({ status: "paused" })).items).toHaveLength(1);
  });

  it("extends the lease once half of its time is spent, and never lets it run out early", async () => {
    const path = temp.file();
    const store = await open(path);
    const held = await lease(store, "s1", { ttlMs: 1_000 });
    await store.commit({ lease: held, checkpoints: [checkpoint("s1", 1)], now: T0 + 100 });
    expect(sessionRow(path, "s1").lease_expires_at).toBe(T0 + 1_000);
    await store.commit({ lease: held, checkpoints: [checkpoint("s1", 2)], now: T0 + 499 });
    expect(sessionRow(path, "s1").lease_expires_at).toBe(T0 + 1_000);
    await store.commit({ lease: held, checkpoints: [checkpoint("s1", 3)], now: T0 + 500 });
    expect(sessionRow(path, "s1").lease_expires_at).toBe(T0 + 1_500);
    // After each commit above the lease lasted at least half its time to live.
    const other = await open(path);
    expect((await other.sessions.acquire(leaseRequest("s1", { now: T0 + 1_499 }))).ok).toBe(false);
    // An explicit renewal always extends it in full.
    expect((await store.sessions.renew(held, T0 + 600))?.expiresAt).toBe(T0 + 1_600);
    expect(sessionRow(path, "s1").lease_expires_at).toBe(T0 + 1_600);
  });

  it("tells other connections of checkpoints that change the summary, and its own listeners of all", async () => {
    const path = temp.file();
    const a = await open(path);
    const b = await open(path);
    const atA: StoreEvent[] = [];
    const atB: StoreEvent[] = [];
    a.notifier.subscribe("s1", (event) => atA.push(event));
    b.notifier.subscribe("s1", (event) => atB.push(event));
    const held = await lease(a, "s1");
    const statuses = ["running", "running", "running", "paused", "paused", "running"] as const;
    for (const [i, status] of statuses.entries()) {
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("s1", i + 1, { status })],
        now: T0 + i,
      });
    }
    const ids = (events: StoreEvent[]) =>
      events.flatMap((e) => (e.kind === "checkpoint" ? [e.id] : []));
    expect(ids(atA)).toEqual(statuses.map((_, i) => `s1|#${i + 1}`));
    await eventually(() => expect(ids(atB)).toEqual(["s1|#1", "s1|#4", "s1|#6"]));
  });
});
