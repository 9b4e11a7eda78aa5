import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { LeaseLostError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/logger.js";
import type { StoreEvent } from "../../../src/store/notifier.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import {
  checkpoint,
  enqueue,
  eventually,
  GATE,
  lease,
  leaseRequest,
  message,
  T0,
} from "../suite/fixtures.js";
import { tempDir } from "./temp-db.js";

const temp = tempDir("two");
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});
/** Two stores over one file: two connections, as two processes would have. */
async function pair(): Promise<[SqliteStore, SqliteStore, string]> {
  const path = temp.file();
  const a = await SqliteStore.open({ path, logger: silentLogger });
  const b = await SqliteStore.open({ path, logger: silentLogger });
  stores.push(a, b);
  return [a, b, path];
}
const outboxRows = (path: string): number => {
  const db = new Database(path, { readonly: true });
  const count = db.prepare("SELECT count(*) FROM events").pluck().get() as number;
  db.close();
  return count;
};

describe("SqliteStore: two connections to one file", () => {
  it("sees the other's writes at once", async () => {
    const [a, b] = await pair();
    const queued = await enqueue(a, message("s1"));
    expect((await b.interrupts.list("s1")).items).toEqual([queued]);
    expect((await b.interrupts.claim("s1", { now: T0, owner: "b" }))?.id).toBe(queued.id);
    expect(await a.interrupts.claim("s1", { now: T0, owner: "a" })).toBeUndefined();
    await b.commit({ checkpoints: [checkpoint("s1", 1)], now: T0 });
    expect((await a.checkpoints.latest("s1", ""))?.seq).toBe(1);
    // A checkpoint seq taken through one connection is refused through the other.
    await expect(
      a.commit({ checkpoints: [checkpoint("s1", 1, { id: "x" })], now: T0 }),
    ).rejects.toThrow(/conflicts/);
  });

  it("fences a lease taken over through the other connection", async () => {
    const [a, b] = await pair();
    const old = await lease(a, "s1", { ttlMs: 100 });
    const taken = await lease(b, "s1", { now: T0 + 100 });
    await expect(
      a.commit({ lease: old, checkpoints: [checkpoint("s1", 1)], now: T0 + 101 }),
    ).rejects.toThrow(LeaseLostError);
    expect(await a.sessions.renew(old, T0 + 101)).toBeUndefined();
    await a.commit({ lease: taken, checkpoints: [checkpoint("s1", 1)], now: T0 + 101 });
    expect((await b.sessions.acquire(leaseRequest("s1", { now: T0 + 102 }))).ok).toBe(false);
  });

  it("delivers each connection's events to the other's subscribers once, each writer's in order", async () => {
    const [a, b] = await pair();
    const atA: StoreEvent[] = [];
    const atB: StoreEvent[] = [];
    a.notifier.subscribe("s1", (event) => atA.push(event));
    b.notifier.subscribe("s1", (event) => atB.push(event));
    const queued = await enqueue(a, message("s1"));
    const held = await lease(b, "s1");
    await b.commit({
      lease: held,
      // The nested checkpoint opens a gate, so it is told, with its thread, through the outbox.
      checkpoints: [
        checkpoint("s1", 1),
        checkpoint("s1", 1, {
          thread: "child",
          meta: { v: 1, gate: { ...GATE, node: "child/draft" } },
        }),
      ],
      settle: [
        {
          id: queued.id,
          outcome: { status: "applied", action: { type: "continue" }, appliedAt: T0 },
        },
      ],
      now: T0,
    });
    await b.sessions.release(held);
    const expected: StoreEvent[] = [
      { kind: "queued", sessionId: "s1", id: queued.id, priority: 2 },
      { kind: "settled", sessionId: "s1", id: queued.id },
      { kind: "checkpoint", sessionId: "s1", thread: "", id: "s1|#1", status: "running" },
      { kind: "checkpoint", sessionId: "s1", thread: "child", id: "s1|child#1", status: "running" },
      { kind: "released", sessionId: "s1" },
    ];
    // A wrote the first event and B the rest: each store gets its own at once and the other's
    // from the outbox, so only A, which polled B's four after its own, sees them all in order.
    await eventually(() => expect(atA).toEqual(expected));
    await eventually(() => expect(atB).toHaveLength(5));
    expect(atB.slice(0, 4)).toEqual(expected.slice(1));
    expect(atB[4]).toEqual(expected[0]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(atA).toHaveLength(5);
    expect(atB).toHaveLength(5);
  });

  it("writes no outbox rows while no other connection listens", async () => {
    const [a, b, path] = await pair();
    const own: StoreEvent[] = [];
    const stop = a.notifier.subscribe(null, (event) => own.push(event));
    await enqueue(a, message("s1"));
    expect(own).toHaveLength(1);
    expect(outboxRows(path)).toBe(0);
    const other: StoreEvent[] = [];
    const stopOther = b.notifier.subscribe(null, (event) => other.push(event));
    await enqueue(a, message("s1"));
    expect(outboxRows(path)).toBe(1);
    await eventually(() => expect(other).toHaveLength(1));
    stopOther();
    await enqueue(a, message("s1"));
    expect(outboxRows(path)).toBe(1);
    stop();
  });

  it("does not deliver events of a transaction that rolled back", async () => {
    const [a, b] = await pair();
    const atB: StoreEvent[] = [];
    const atA: StoreEvent[] = [];
    b.notifier.subscribe(null, (event) => atB.push(event));
    a.notifier.subscribe(null, (event) => atA.push(event));
    await a.commit({ checkpoints: [checkpoint("s1", 1)], now: T0 });
    await expect(
      a.commit({
        checkpoints: [checkpoint("s1", 2), checkpoint("s1", 2, { id: "again" })],
        now: T0,
      }),
    ).rejects.toThrow(/conflicts/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(atA.map((e) => e.kind === "checkpoint" && e.id)).toEqual(["s1|#1"]);
    expect(atB.map((e) => e.kind === "checkpoint" && e.id)).toEqual(["s1|#1"]);
  });
});

describe("SqliteStore: two connections claiming webhook deliveries", () => {
  it("never hand one delivery to both, and a delivery one added is not added again by the other", async () => {
    const [a, b] = await pair();
    const url = "https://hooks.example/a";
    const ids = Array.from({ length: 40 }, (_, i) => `d${i}`);
    const of = (id: string) => ({
      id,
      url,
      type: "session.completed",
      sessionId: "s1",
      checkpointId: "c",
      body: "{}",
    });
    expect(await a.deliveries.add(ids.map(of), T0)).toHaveLength(40);
    expect(await b.deliveries.add(ids.slice(0, 5).map(of), T0)).toEqual([]);
    const claimed: string[] = [];
    await Promise.all(
      [a, b].flatMap((store, which) =>
        Array.from({ length: 10 }, async () => {
          const got = await store.deliveries.claim({
            owner: `owner-${which}`,
            urls: [url],
            limit: 3,
            now: T0,
            until: T0 + 60_000,
          });
          claimed.push(...got.map((d) => d.id));
        }),
      ),
    );
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort()).toEqual([...ids].sort());
  });
});
