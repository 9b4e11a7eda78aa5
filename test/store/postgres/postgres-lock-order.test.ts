/**
 * Every writer takes its row locks in one order — a session's lease and summary rows, its
 * messages (in queue order), its queue row, then its audit counter — so two writers of one
 * session wait for each other instead of deadlocking (which PostgreSQL settles only after `deadlock_timeout`, by failing
 * one of them). Each case holds a lock from a connection of its own, as a concurrent writer
 * would, lets the store's statement queue behind it, and looks at what that statement already
 * holds.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../../../src/store/postgres/database.js";
import type { PostgresStore } from "../../../src/store/postgres/postgres-store.js";
import { checkpoint, enqueue, lease, message, T0 } from "../suite/fixtures.js";
import { connect, DATABASE_URL, dropSchema, sql, testSchema } from "./test-database.js";

const schema = testSchema("locks");
let store: PostgresStore;
let other: pg.Client;

beforeAll(async () => {
  store = await connect(schema);
  other = new pg.Client({ connectionString: DATABASE_URL });
  await other.connect();
});
afterAll(async () => {
  await other?.end();
  await store?.close();
  await dropSchema(schema);
});

const APPLIED = { status: "applied", action: { type: "approve" }, appliedAt: T0 } as const;

/** Resolves once some statement waits for a lock `other` holds. */
async function blockedBehindOther(): Promise<void> {
  const otherPid = (other as unknown as { processID: number }).processID;
  const deadline = Date.now() + 5_000;
  for (;;) {
    const [waiting] = await sql<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE $1::integer = ANY(pg_blocking_pids(pid))",
      [otherPid],
    );
    if (Number(waiting?.n) > 0) return;
    if (Date.now() > deadline) throw new Error("no statement queued behind the held lock");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Whether `other` can lock the rows `from … where` selects at once (the store holds none). */
async function free(from: string, where: string, values: unknown[]): Promise<boolean> {
  await other.query("SAVEPOINT probe");
  try {
    await other.query(`SELECT 1 FROM "${schema}".${from} WHERE ${where} FOR UPDATE NOWAIT`, values);
    await other.query("RELEASE SAVEPOINT probe");
    return true;
  } catch (error) {
    await other.query("ROLLBACK TO SAVEPOINT probe");
    if ((error as { code?: string }).code === "55P03") return false;
    throw error;
  }
}

/**
 * Locks the rows `from … where` selects from `other`'s transaction, as a concurrent writer
 * holds them, starts `write`, which must queue behind them, runs `whileQueued` once it does,
 * then lets it go on and waits for it to end.
 */
async function queuedBehind(
  lock: { readonly from: string; readonly where: string; readonly values: unknown[] },
  write: () => Promise<unknown>,
  whileQueued: () => Promise<void>,
): Promise<void> {
  await other.query("BEGIN");
  try {
    await other.query(
      `SELECT 1 FROM "${schema}".${lock.from} WHERE ${lock.where} FOR UPDATE`,
      lock.values,
    );
    const written = write();
    await blockedBehindOther();
    await whileQueued();
    await other.query("ROLLBACK");
    await written;
  } finally {
    await other.query("ROLLBACK");
  }
}

describe("PostgresStore: the order writers lock a session's rows in", () => {
  it("lets a decision's commit wait for a send's queue row before it locks the audit counter", async () => {
    const queued = await enqueue(store, message("decide"));
    const held = await lease(store, "decide");
    // Where a send holds its session's queue row and goes on to the audit counter.
    await queuedBehind(
      { from: "interrupt_queues", where: "session_id = $1", values: ["decide"] },
      () =>
        store.commit({
          lease: held,
          checkpoints: [checkpoint("decide", 1, { status: "running" })],
          settle: [{ id: queued.id, outcome: APPLIED }],
          audit: [{ sessionId: "decide", at: T0, kind: "approval.decided" }],
          now: T0,
        }),
      async () => {
        expect(await free("audit_sequences", "session_id = $1", ["decide"])).toBe(true);
      },
    );
    expect(await store.interrupts.get(queued.id)).toMatchObject({ state: "applied" });
    const { items } = await store.audit.list("decide");
    expect(items.map((e) => [e.seq, e.kind])).toEqual([
      [1, "interrupt.received"],
      [2, "approval.decided"],
    ]);
  });

  it("locks the messages a commit settles in queue order, as a removal does", async () => {
    // Ids sort against their queue order, so an order by id would lock the second one first.
    const first = await enqueue(store, message("order", { id: "order-z" }));
    const second = await enqueue(store, message("order", { id: "order-a" }));
    const held = await lease(store, "order");
    await queuedBehind(
      { from: "interrupts", where: "id = $1", values: [second.id] },
      () =>
        store.commit({
          lease: held,
          checkpoints: [checkpoint("order", 1, { status: "running" })],
          settle: [
            { id: second.id, outcome: APPLIED },
            { id: first.id, outcome: APPLIED },
          ],
          now: T0,
        }),
      async () => {
        // The commit took the first message before it queued for the second.
        expect(await free("interrupts", "id = $1", [first.id])).toBe(false);
      },
    );
    expect(await store.interrupts.stats("order")).toMatchObject({ depth: 0, applied: 2 });
  });

  it("takes a decision's lease row before it locks the message it settles", async () => {
    const queued = await enqueue(store, message("first-lease"));
    const held = await lease(store, "first-lease");
    // Where another writer of the session holds its lease row.
    await queuedBehind(
      { from: "leases", where: "session_id = $1", values: ["first-lease"] },
      () =>
        store.commit({
          lease: held,
          checkpoints: [checkpoint("first-lease", 1, { status: "running" })],
          settle: [{ id: queued.id, outcome: APPLIED }],
          audit: [{ sessionId: "first-lease", at: T0, kind: "approval.decided" }],
          now: T0,
        }),
      async () => {
        expect(await free("interrupts", "id = $1", [queued.id])).toBe(true);
        expect(await free("interrupt_queues", "session_id = $1", ["first-lease"])).toBe(true);
      },
    );
    expect(await store.interrupts.get(queued.id)).toMatchObject({ state: "applied" });
  });

  it("lets a session's deletion wait for the lease a run's commit holds before it locks the messages", async () => {
    const queued = await enqueue(store, message("doomed"));
    // A lease that runs out before the deletion, which a stalled run's commit still holds.
    await lease(store, "doomed", { ttlMs: 1 });
    // Where a run's commit holds its lease row and goes on to the messages it settles.
    await queuedBehind(
      { from: "leases", where: "session_id = $1", values: ["doomed"] },
      () => store.sessions.delete("doomed", { now: T0 + 5 }),
      async () => {
        expect(await free("interrupts", "id = $1", [queued.id])).toBe(true);
        expect(await free("interrupt_queues", "session_id = $1", ["doomed"])).toBe(true);
      },
    );
    expect(await store.interrupts.get(queued.id)).toBeUndefined();
  });
});

describe("PostgresStore: sends and deletions of one session racing", () => {
  const deletions = {
    "sessions.delete": (via: PostgresStore, sessionId: string) =>
      via.sessions.delete(sessionId, { now: T0 }),
    'interrupts.remove({ reason: "deleted" })': (via: PostgresStore, sessionId: string) =>
      via.interrupts.remove({ reason: "deleted", now: T0, sessionId }),
  };
  it.each(Object.entries(deletions))(
    "leaves every message either deleted and audited, or queued under a queue that counts it: %s",
    async (name, remove) => {
      const prefix = `race-${name.length}-`;
      const second = await connect(schema);
      try {
        const accepted: string[] = [];
        const failures: unknown[] = [];
        const send = (via: PostgresStore, sessionId: string) =>
          enqueue(via, message(sessionId)).then(
            (queued) => void accepted.push(queued.id),
            (error: unknown) => void failures.push(error),
          );
        for (let round = 0; round < 40; round++) {
          const sessionId = `${prefix}${round % 4}`;
          const ops: Promise<unknown>[] = [];
          for (let i = 0; i < 3; i++) ops.push(send(i % 2 === 0 ? store : second, sessionId));
          ops.push(
            remove(round % 2 === 0 ? store : second, sessionId).catch(
              (error: unknown) => void failures.push(error),
            ),
          );
          for (let i = 0; i < 3; i++) ops.push(send(i % 2 === 0 ? second : store, sessionId));
          await Promise.all(ops);
        }
        expect(failures).toEqual([]);
        const cleared = new Set(
          (
            await sql<{ id: string }>(
              `SELECT data::json->>'id' AS id FROM "${schema}".audit WHERE kind = 'interrupt.cleared'`,
            )
          ).map((row) => row.id),
        );
        const present = new Set(
          (await sql<{ id: string }>(`SELECT id FROM "${schema}".interrupts`)).map((row) => row.id),
        );
        for (const id of accepted) {
          expect(present.has(id) !== cleared.has(id), `message ${id}: present xor deleted`).toBe(
            true,
          );
        }
        const queues = await sql<{ session_id: string; depth: string; next_seq: string }>(
          `SELECT session_id, depth, next_seq FROM "${schema}".interrupt_queues WHERE session_id LIKE $1`,
          [`${prefix}%`],
        );
        for (const queue of queues) {
          const [rows] = await sql<{ n: string; top: string | null }>(
            `SELECT count(*) AS n, max(seq) AS top FROM "${schema}".interrupts WHERE session_id = $1`,
            [queue.session_id],
          );
          expect(Number(queue.depth), `depth of ${queue.session_id}`).toBe(Number(rows!.n));
          expect(Number(queue.next_seq)).toBeGreaterThan(Number(rows!.top ?? 0));
        }
        // No message is left without the queue that numbers it.
        const orphans = await sql(
          `SELECT i.id FROM "${schema}".interrupts i
         LEFT JOIN "${schema}".interrupt_queues q USING (session_id) WHERE q.session_id IS NULL`,
        );
        expect(orphans).toEqual([]);
      } finally {
        await second.close();
      }
    },
  );
});

describe("PostgreSQL store operations that lose a deadlock", () => {
  const lock = (id: number) => `SELECT 1 FROM "${schema}".pair WHERE id = ${id} FOR UPDATE`;
  let db: Database;
  beforeAll(async () => {
    // PostgreSQL looks for a deadlock once, `deadlock_timeout` after a statement began to
    // wait; the first to look finds the cycle and loses. The store's side waits first and
    // looks after 300 ms, `other` after the default second: the store's side loses, however
    // slowly `other` joins the cycle within those 300 ms.
    db = new Database(
      new pg.Pool({ connectionString: DATABASE_URL, options: "-c deadlock_timeout=300" }),
    );
    await sql(`CREATE TABLE "${schema}".pair (id integer PRIMARY KEY)`);
    await sql(`INSERT INTO "${schema}".pair VALUES (1), (2)`);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("run a statement again, once the transaction that won has ended", async () => {
    await other.query("BEGIN");
    try {
      await other.query(lock(1));
      const done = db.query({
        text: `SELECT id FROM "${schema}".pair WHERE id IN (1, 2) ORDER BY id DESC FOR UPDATE`,
      });
      await blockedBehindOther();
      // The statement holds 2 and waits for 1, which `other` holds: a cycle, which it loses.
      await other.query(lock(2));
      await other.query("ROLLBACK");
      await expect(done).resolves.toEqual([{ id: 2 }, { id: 1 }]);
    } finally {
      await other.query("ROLLBACK");
    }
  });

  it("run a transaction again, once the transaction that won has ended", async () => {
    let tries = 0;
    await other.query("BEGIN");
    try {
      await other.query(lock(1));
      const done = db.transaction(async (tx) => {
        tries++;
        await tx.query({ text: lock(2) });
        await tx.query({ text: lock(1) });
        return "written";
      });
      await blockedBehindOther();
      // The store's transaction holds 2 and waits for 1, which `other` holds: a cycle, which
      // the transaction loses.
      await other.query(lock(2));
      await other.query("ROLLBACK");
      await expect(done).resolves.toBe("written");
      // Ran again after losing; on a loaded machine a try can lose more than once, and each
      // is run again up to the retry bound.
      expect(tries).toBeGreaterThan(1);
    } finally {
      await other.query("ROLLBACK");
    }
  });
});
