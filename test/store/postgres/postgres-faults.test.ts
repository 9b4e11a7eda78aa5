import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StoreCorruptError, StoreUnavailableError } from "../../../src/errors.js";
import type { StoreEvent } from "../../../src/store/notifier.js";
import { Database } from "../../../src/store/postgres/database.js";
import { channelOf, quoteIdent } from "../../../src/store/postgres/identifier.js";
import type { PostgresInterruptStore } from "../../../src/store/postgres/postgres-interrupt-store.js";
import { PostgresSessionStore } from "../../../src/store/postgres/postgres-session-store.js";
import type { PostgresStore } from "../../../src/store/postgres/postgres-store.js";
import {
  checkpoint,
  enqueue,
  eventually,
  lease,
  leaseRequest,
  message,
  T0,
} from "../suite/fixtures.js";
import {
  connect,
  DATABASE_URL,
  dropSchema,
  sql,
  terminate,
  testSchema,
  truncate,
} from "./test-database.js";

const schema = testSchema("faults");
let store: PostgresStore;

beforeAll(async () => {
  await (await connect(schema)).close();
});
afterEach(async () => {
  await store?.close();
});
afterAll(async () => {
  await dropSchema(schema);
});

async function fresh(): Promise<PostgresStore> {
  await truncate(schema);
  store = await connect(schema);
  return store;
}

/** Holds a table lock on a connection of its own, so the store's next write to it waits. */
async function blockWrites(table: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query("BEGIN");
  await client.query(`LOCK TABLE "${schema}".${table} IN EXCLUSIVE MODE`);
  return async () => {
    await client.query("ROLLBACK");
    await client.end();
  };
}

/** Waits until one of the store's connections waits for a lock, then ends that connection. */
async function terminateWaiting(): Promise<void> {
  await eventually(async () => {
    const rows = await sql(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = $1 AND wait_event_type = 'Lock'`,
      [`trellis ${schema}`],
    );
    expect(rows).toHaveLength(1);
  });
}

const settled = (id: string) => ({
  id,
  outcome: { status: "applied" as const, action: { type: "continue" as const }, appliedAt: T0 },
});

describe("PostgresStore faults", () => {
  it("fails a one-statement commit whose connection drops with StoreUnavailableError, writing nothing, and works again", async () => {
    await fresh();
    const held = await lease(store, "s1");
    await store.commit({ lease: held, checkpoints: [checkpoint("s1", 1)], now: T0 });
    const unblock = await blockWrites("checkpoints");
    const pending = store
      .commit({ lease: held, checkpoints: [checkpoint("s1", 2)], now: T0 + 5 })
      .catch((error: unknown) => error);
    await terminateWaiting();
    expect(await pending).toBeInstanceOf(StoreUnavailableError);
    await unblock();
    expect((await store.checkpoints.latest("s1", ""))?.seq).toBe(1);
    expect((await store.sessions.get("s1"))?.checkpointId).toBe("s1|#1");
    // The pool opened a new connection; the same batch goes through now.
    await store.commit({ lease: held, checkpoints: [checkpoint("s1", 2)], now: T0 + 5 });
    expect((await store.checkpoints.latest("s1", ""))?.seq).toBe(2);
  });

  it("rolls back a whole transaction whose connection drops between its statements", async () => {
    await fresh();
    const held = await lease(store, "s1");
    const m = await enqueue(store, message("s1"));
    // Checkpoint and settlement are written first; the audit insert then waits and is cut off.
    const unblock = await blockWrites("audit");
    const pending = store
      .commit({
        lease: held,
        checkpoints: [checkpoint("s1", 1)],
        settle: [settled(m.id)],
        audit: [{ sessionId: "s1", at: T0, kind: "interrupt.applied" }],
        now: T0,
      })
      .catch((error: unknown) => error);
    await terminateWaiting();
    expect(await pending).toBeInstanceOf(StoreUnavailableError);
    await unblock();
    expect(await store.checkpoints.latest("s1", "")).toBeUndefined();
    expect(await store.sessions.get("s1")).toBeUndefined();
    expect(await store.interrupts.get(m.id)).toMatchObject({ state: "queued" });
    expect(await store.interrupts.stats("s1")).toMatchObject({ depth: 1, applied: 0 });
    expect((await store.audit.list("s1")).items.map((e) => e.kind)).toEqual(["interrupt.received"]);
    await store.commit({
      lease: held,
      checkpoints: [checkpoint("s1", 1)],
      settle: [settled(m.id)],
      audit: [{ sessionId: "s1", at: T0, kind: "interrupt.applied" }],
      now: T0,
    });
    expect(await store.interrupts.get(m.id)).toMatchObject({ state: "applied" });
  });

  it("gives up a lease whose acquire committed but whose answer the cut connection lost", async () => {
    await fresh();
    // A pool whose first lease_acquire runs on the server and then loses its answer.
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    let lose = true;
    const lossy = {
      query: async (statement: pg.QueryConfig) => {
        const result = await pool.query(statement);
        if (lose && statement.name?.endsWith("lease_acquire")) {
          lose = false;
          throw new Error("Connection terminated unexpectedly");
        }
        return result;
      },
      end: () => pool.end(),
    } as unknown as pg.Pool;
    const db = new Database(lossy);
    const sessions = new PostgresSessionStore(
      db,
      quoteIdent(schema),
      channelOf(schema),
      () => null,
      undefined as unknown as PostgresInterruptStore,
      () => {},
    );
    try {
      const request = leaseRequest("s1", { ttlMs: 60_000 });
      await expect(sessions.acquire(request)).rejects.toBeInstanceOf(StoreUnavailableError);
      // Nobody learned of that lease, so nobody holds the session.
      const again = await store.sessions.acquire(leaseRequest("s1", { now: T0 + 1 }));
      expect(again.ok).toBe(true);
    } finally {
      await db.close();
    }
  });

  it("recovers when every pooled connection is cut while idle", async () => {
    await fresh();
    await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        store.audit.append({ sessionId: `s${i}`, at: T0, kind: "custom.x" }),
      ),
    );
    expect(await terminate(schema, "pool")).toBeGreaterThan(0);
    // An operation may still meet a connection the pool has not yet seen close: it fails as
    // unavailable, and one of the next attempts succeeds.
    let seq: number | undefined;
    for (let attempt = 0; attempt < 12 && seq === undefined; attempt++) {
      try {
        seq = await store.audit.append({ sessionId: "s0", at: T0, kind: "custom.y" });
      } catch (error) {
        expect(error).toBeInstanceOf(StoreUnavailableError);
      }
    }
    expect(seq).toBe(2);
  });

  it("listens again after its listening connection is cut, and keeps its leases", async () => {
    await fresh();
    const other = await connect(schema);
    try {
      const held = await lease(store, "s1", { ttlMs: 600_000 });
      const events: StoreEvent[] = [];
      store.notifier.subscribe("s1", (event) => events.push(event));
      expect(await terminate(schema, "listener")).toBe(2);
      // Both stores reconnect; an event the other store writes after that reaches this one.
      await eventually(async () => {
        await enqueue(other, message("s1"));
        expect(events.length).toBeGreaterThan(0);
      }, 10_000);
      // The lease moved to the new listening connection: it is not free for the other store.
      const taken = await other.sessions.acquire({
        sessionId: "s1",
        owner: "other",
        token: "other-1",
        ttlMs: 1_000,
        now: T0 + 1,
      });
      expect(taken.ok).toBe(false);
      expect(await store.sessions.renew(held, T0 + 2)).toBeDefined();
    } finally {
      await other.close();
    }
  });

  it("hands back a checkpoint whose JSON or status it cannot read as unparsable, and other bad rows as StoreCorruptError", async () => {
    await fresh();
    await store.commit({ checkpoints: [checkpoint("s1", 1), checkpoint("s1", 2)], now: T0 });
    const m = await enqueue(store, message("s1"));
    await store.audit.append({ sessionId: "s1", at: T0, kind: "custom.x", data: { a: 1 } });
    await sql(`UPDATE "${schema}".checkpoints SET payload = '{"count": 1' WHERE seq = 1`);
    const bad = await store.checkpoints.get("s1", "", "s1|#1");
    expect(bad).toMatchObject({ id: "s1|#1", seq: 1, kind: "unparsable" });
    expect(bad?.kind === "unparsable" && bad.problem).toContain("state");
    // One bad row does not hide the others.
    expect((await store.checkpoints.list("s1", "")).map((r) => r.kind)).toEqual([
      "delta",
      "unparsable",
    ]);
    await sql(`UPDATE "${schema}".checkpoints SET payload = '{}', kind = 'diff' WHERE seq = 1`);
    expect((await store.checkpoints.latest("s1", ""))?.kind).toBe("delta");
    expect((await store.checkpoints.list("s1", "")).at(-1)?.kind).toBe("unparsable");
    // An unknown status is one more unreadable column of that row, never a status it does not hold.
    await sql(`UPDATE "${schema}".checkpoints SET status = 'sleeping' WHERE seq = 2`);
    expect((await store.checkpoints.list("s1", "")).map((r) => [r.kind, r.status])).toEqual([
      ["unparsable", null],
      ["unparsable", "running"],
    ]);
    await sql(`UPDATE "${schema}".interrupts SET message = '[1, 2]'`);
    await expect(store.interrupts.get(m.id)).rejects.toThrow(StoreCorruptError);
    await sql(`UPDATE "${schema}".audit SET data = 'undefined'`);
    await expect(store.audit.list("s1")).rejects.toThrow(StoreCorruptError);
    await sql(`UPDATE "${schema}".sessions SET status = 'sleeping'`);
    await expect(store.sessions.get("s1")).rejects.toThrow(StoreCorruptError);
  });

  it("refuses to work once closed", async () => {
    await fresh();
    await store.close();
    await expect(store.checkpoints.latest("s1", "")).rejects.toThrow(StoreUnavailableError);
    await expect(store.commit({ checkpoints: [checkpoint("s1", 1)], now: T0 })).rejects.toThrow(
      StoreUnavailableError,
    );
    await expect(enqueue(store, message("s1"))).rejects.toThrow(StoreUnavailableError);
    await store.close();
  });
});
