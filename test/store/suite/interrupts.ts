import { describe, expect, it } from "vitest";
import { InvalidOptionError, TrellisError } from "../../../src/errors.js";
import type { NewInterruptRecord, SettledOutcome } from "../../../src/store/interrupt-store.js";
import type { Store } from "../../../src/store/store.js";
import { enqueue, HOUR, lease, message, received, T0, WIDE } from "./fixtures.js";

const APPLIED: SettledOutcome = { status: "applied", action: { type: "continue" }, appliedAt: T0 };
const claim = (store: Store, sessionId: string, now = T0, id?: string) =>
  store.interrupts.claim(sessionId, { now, owner: "run-1", ...(id === undefined ? {} : { id }) });
const settle = (store: Store, id: string, outcome: SettledOutcome = APPLIED, now = T0) =>
  store.commit({ settle: [{ id, outcome }], now });

export function interruptCases(store: () => Store): void {
  describe("interrupts", () => {
    it("numbers each session's messages from 1 in arrival order", async () => {
      const a1 = await enqueue(store(), message("a"));
      const a2 = await enqueue(store(), message("a"));
      const b1 = await enqueue(store(), message("b"));
      expect([a1.seq, a2.seq, b1.seq]).toEqual([1, 2, 1]);
      expect((await store().interrupts.stats("a")).lastSeq).toBe(2);
    });

    it("stores the message as given, with its metadata and action, and its audit entry", async () => {
      const record: NewInterruptRecord = {
        id: `m-${process.pid}-1`,
        sessionId: "s1",
        priority: 2,
        queuedAt: T0,
        expiresAt: T0 + HOUR,
        sender: "ana",
        metadata: { source: "web", tags: ["x"] },
        kind: "action",
        action: { type: "go_back", to: "draft" },
      };
      const stored = await enqueue(store(), record);
      expect(stored).toEqual({ ...record, seq: 1 });
      expect((await store().interrupts.list("s1")).items).toEqual([{ ...record, seq: 1 }]);
      expect(await store().interrupts.get(record.id)).toEqual({
        message: { ...record, seq: 1 },
        state: "queued",
      });
      const { items } = await store().audit.list("s1");
      expect(items).toEqual([
        expect.objectContaining({
          kind: "interrupt.received",
          data: { id: record.id, priority: 2, seq: 1 },
        }),
      ]);
    });

    it("is not changed by later changes to the object that was enqueued", async () => {
      const record = { ...message("s1"), metadata: { n: 1 } };
      await enqueue(store(), record);
      (record.metadata as { n: number }).n = 2;
      expect((await store().interrupts.list("s1")).items[0]?.metadata).toEqual({ n: 1 });
    });

    it("serves by priority, then by arrival", async () => {
      const ids: string[] = [];
      for (const priority of [2, 1, 2, 0, 1, 0, 2]) {
        ids.push((await enqueue(store(), message("s1", { priority }))).id);
      }
      const expected = [ids[3], ids[5], ids[1], ids[4], ids[0], ids[2], ids[6]];
      expect((await store().interrupts.list("s1")).items.map((r) => r.id)).toEqual(expected);
      const claimed: string[] = [];
      for (;;) {
        const next = await claim(store(), "s1");
        if (!next) break;
        claimed.push(next.id);
      }
      expect(claimed).toEqual(expected);
    });

    it("claims a message once: it leaves the list and counts as in flight", async () => {
      const first = await enqueue(store(), message("s1"));
      await enqueue(store(), message("s1"));
      const claimed = await claim(store(), "s1");
      expect(claimed?.id).toBe(first.id);
      const page = await store().interrupts.list("s1");
      expect(page.total).toBe(1);
      expect(page.items.map((r) => r.id)).not.toContain(first.id);
      expect(await store().interrupts.stats("s1")).toMatchObject({ depth: 1, inFlight: 1 });
      expect(await store().interrupts.get(first.id)).toMatchObject({
        state: "claimed",
        claimedBy: "run-1",
      });
      expect(await claim(store(), "other")).toBeUndefined();
    });

    it("claims one named message, and only while it is queued", async () => {
      const a = await enqueue(store(), message("s1"));
      const b = await enqueue(store(), message("s1", { priority: 0 }));
      expect((await claim(store(), "s1", T0, a.id))?.id).toBe(a.id);
      expect(await claim(store(), "s1", T0, a.id)).toBeUndefined();
      expect(await claim(store(), "s1", T0, "unknown")).toBeUndefined();
      expect((await claim(store(), "s1"))?.id).toBe(b.id);
    });

    it("each message is claimed by one of many concurrent claims", async () => {
      for (let i = 0; i < 20; i++) await enqueue(store(), message("s1"));
      const claims = await Promise.all(Array.from({ length: 50 }, () => claim(store(), "s1")));
      const ids = claims.filter((c) => c !== undefined).map((c) => c.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
    });

    it("skips expired messages when claiming but leaves them for remove", async () => {
      await enqueue(store(), message("s1", { priority: 0, ttl: 10 }));
      const live = await enqueue(store(), message("s1", { ttl: 1000 }));
      // expiresAt equal to now counts as expired.
      expect((await claim(store(), "s1", T0 + 10))?.id).toBe(live.id);
      expect(await claim(store(), "s1", T0 + 10)).toBeUndefined();
      expect((await store().interrupts.stats("s1")).depth).toBe(1);
    });

    it("refuses a message when the session's queue is full and keeps the others", async () => {
      const limits = { maxQueueSize: 3, maxSessions: 10 };
      for (let i = 0; i < 3; i++) await enqueue(store(), message("s1"), limits);
      const extra = message("s1");
      expect(await store().interrupts.enqueue(extra, limits, received(extra))).toEqual({
        ok: false,
        reason: "queue_full",
        depth: 3,
      });
      expect((await store().interrupts.list("s1")).total).toBe(3);
      expect(await store().interrupts.get(extra.id)).toBeUndefined();
      expect((await store().audit.list("s1")).total).toBe(3);
      // Claimed messages no longer count against the bound.
      await claim(store(), "s1");
      await enqueue(store(), message("s1"), limits);
    });

    it("refuses a new session when maxSessions sessions have queued messages", async () => {
      const limits = { maxQueueSize: 10, maxSessions: 2 };
      await enqueue(store(), message("a"), limits);
      await enqueue(store(), message("b"), limits);
      const c = message("c");
      expect(await store().interrupts.enqueue(c, limits, received(c))).toEqual({
        ok: false,
        reason: "too_many_sessions",
        sessions: 2,
      });
      // A session that already has messages may add more.
      await enqueue(store(), message("a"), limits);
      // Once a session's queue is empty it no longer counts.
      const claimed = await claim(store(), "b");
      await settle(store(), claimed!.id);
      await enqueue(store(), message("c"), limits);
    });

    it("never exceeds the bound under concurrent enqueues", async () => {
      const limits = { maxQueueSize: 100, maxSessions: 10 };
      const results = await Promise.all(
        Array.from({ length: 300 }, () => {
          const record = message("s1");
          return store().interrupts.enqueue(record, limits, received(record));
        }),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(100);
      expect(results.filter((r) => !r.ok && r.reason === "queue_full")).toHaveLength(200);
      const page = await store().interrupts.list("s1", { limit: 500 });
      expect(page.total).toBe(100);
      expect(new Set(page.items.map((r) => r.seq)).size).toBe(100);
      expect((await store().audit.list("s1", { limit: 500 })).total).toBe(100);
    });

    it("lets only maxSessions of many new sessions racing for the last places in", async () => {
      const limits = { maxQueueSize: 10, maxSessions: 3 };
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const record = message(`race-${i}`);
          return store().interrupts.enqueue(record, limits, received(record));
        }),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(3);
      const refused = results.filter((r) => !r.ok);
      expect(refused).toHaveLength(17);
      expect(refused.every((r) => r.reason === "too_many_sessions" && r.sessions === 3)).toBe(true);
      const queued = await Promise.all(
        Array.from(
          { length: 20 },
          async (_, i) => (await store().interrupts.list(`race-${i}`)).total,
        ),
      );
      expect(queued.reduce((a, b) => a + b, 0)).toBe(3);
    });

    it("keeps the audit data as given beside the message's seq, whatever its keys and text", async () => {
      const record = message("s1");
      const data = {
        seq: "replaced",
        ["__proto__"]: { polluted: true },
        constructor: "c",
        text: 'quote " backslash \\ nul \u0000 emoji 🙂 {"seq":9}',
      };
      const bare = message("s1");
      await enqueue(store(), bare);
      await store().interrupts.enqueue(record, WIDE, { ...received(record), data });
      const none = message("s1");
      await store().interrupts.enqueue(none, WIDE, { ...received(none), data: undefined });
      const { items } = await store().audit.list("s1");
      expect(items.map((e) => e.data)).toEqual([
        { id: bare.id, priority: 2, seq: 1 },
        { ...data, seq: 2 },
        { seq: 3 },
      ]);
      expect(Object.hasOwn(items[1]!.data as object, "__proto__")).toBe(true);
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    });

    it("rejects an id that is already stored", async () => {
      const first = message("s1", { id: `dup-${process.pid}` });
      await enqueue(store(), first);
      const again = message("s2", { id: first.id });
      await expect(store().interrupts.enqueue(again, WIDE, received(again))).rejects.toThrow(
        TrellisError,
      );
      await claim(store(), "s1");
      await expect(store().interrupts.enqueue(first, WIDE, received(first))).rejects.toThrow(
        TrellisError,
      );
    });

    it("settles claimed and queued messages once, counting outcomes and decision times", async () => {
      const a = await enqueue(store(), message("s1"));
      const b = await enqueue(store(), message("s1", { queuedAt: T0 + 50 }));
      await claim(store(), "s1");
      await settle(store(), a.id, APPLIED, T0 + 100);
      // A queued message can be settled without being claimed.
      const refused: SettledOutcome = {
        status: "refused",
        error: {
          code: "INTERRUPT_NOT_APPLICABLE",
          name: "InterruptNotApplicableError",
          message: "no",
        },
        at: T0 + 350,
      };
      await settle(store(), b.id, refused, T0 + 350);
      // Settling again, or an unknown id, changes nothing.
      await settle(store(), a.id, APPLIED, T0 + 400);
      await settle(store(), "unknown", APPLIED, T0 + 400);
      expect(await store().interrupts.stats("s1")).toEqual({
        queued: 2,
        applied: 1,
        refused: 1,
        expired: 0,
        cleared: 0,
        depth: 0,
        inFlight: 0,
        totalDecisionMs: 400,
        maxDecisionMs: 300,
        lastSeq: 2,
      });
      expect(await store().interrupts.get(a.id)).toMatchObject({
        state: "applied",
        outcome: APPLIED,
      });
      expect(await store().interrupts.get(b.id)).toMatchObject({
        state: "refused",
        outcome: refused,
      });
    });

    it("puts a session's claimed messages back in the queue when a new lease is taken", async () => {
      const a = await enqueue(store(), message("s1"));
      const b = await enqueue(store(), message("s1"));
      const c = await enqueue(store(), message("other"));
      await claim(store(), "s1");
      await claim(store(), "s1");
      await claim(store(), "other");
      await lease(store(), "s1");
      expect((await store().interrupts.list("s1")).items.map((m) => m.id)).toEqual([a.id, b.id]);
      expect(await store().interrupts.stats("s1")).toMatchObject({ depth: 2, inFlight: 0 });
      expect((await store().interrupts.get(c.id))?.state).toBe("claimed");
    });

    it("puts what a lease holder claimed and did not settle back in the queue when it releases the lease", async () => {
      const held = await lease(store(), "s1");
      const a = await enqueue(store(), message("s1"));
      const b = await enqueue(store(), message("s1"));
      const c = await enqueue(store(), message("other"));
      await store().interrupts.claim("s1", { now: T0, owner: held.token });
      await store().interrupts.claim("s1", { now: T0, owner: held.token });
      await claim(store(), "other");
      await settle(store(), b.id);
      await store().sessions.release(held);
      expect((await store().interrupts.list("s1")).items.map((m) => m.id)).toEqual([a.id]);
      expect(await store().interrupts.stats("s1")).toMatchObject({ depth: 1, inFlight: 0 });
      expect((await store().interrupts.get(b.id))?.state).toBe("applied");
      expect((await store().interrupts.get(c.id))?.state).toBe("claimed");
      // A release by someone who does not hold the lease puts nothing back.
      const again = await lease(store(), "s1");
      await store().interrupts.claim("s1", { now: T0, owner: again.token });
      await store().sessions.release(held);
      expect(await store().interrupts.stats("s1")).toMatchObject({ depth: 0, inFlight: 1 });
    });

    it("pages through the queue without claiming", async () => {
      for (let i = 0; i < 120; i++) await enqueue(store(), message("s1"));
      const first = await store().interrupts.list("s1");
      expect(first.items).toHaveLength(50);
      expect(first.total).toBe(120);
      const last = await store().interrupts.list("s1", { offset: 100, limit: 50 });
      expect(last.items.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 101 + i));
      expect((await store().interrupts.list("s1", { offset: 500 })).items).toEqual([]);
      expect((await store().interrupts.list("s1", { limit: 500 })).items).toHaveLength(120);
      await expect(store().interrupts.list("s1", { limit: 501 })).rejects.toThrow(
        InvalidOptionError,
      );
      await expect(store().interrupts.list("s1", { offset: -1 })).rejects.toThrow(
        InvalidOptionError,
      );
      expect(await store().interrupts.list("nobody")).toEqual({ items: [], total: 0 });
    });

    it("reports zeros for a session it has never seen", async () => {
      expect(await store().interrupts.stats("nobody")).toEqual({
        queued: 0,
        applied: 0,
        refused: 0,
        expired: 0,
        cleared: 0,
        depth: 0,
        inFlight: 0,
        totalDecisionMs: 0,
        maxDecisionMs: 0,
        lastSeq: 0,
      });
    });

    it("removes expired messages of one session or of all, counting and auditing them", async () => {
      const gone = await enqueue(store(), message("a", { ttl: 10 }));
      await enqueue(store(), message("a", { ttl: 1000 }));
      await enqueue(store(), message("b", { ttl: 10 }));
      const fromA = await store().interrupts.remove({
        reason: "expired",
        now: T0 + 10,
        sessionId: "a",
      });
      expect(fromA.map((r) => r.id)).toEqual([gone.id]);
      expect((await store().interrupts.stats("b")).depth).toBe(1);
      const fromAll = await store().interrupts.remove({ reason: "expired", now: T0 + 10 });
      expect(fromAll.map((r) => r.sessionId)).toEqual(["b"]);
      expect(await store().interrupts.stats("a")).toMatchObject({ expired: 1, depth: 1 });
      expect(await store().interrupts.stats("b")).toMatchObject({ expired: 1, depth: 0 });
      expect((await store().interrupts.get(gone.id))?.state).toBe("expired");
      const { items } = await store().audit.list("a");
      expect(items.at(-1)).toMatchObject({
        kind: "interrupt.expired",
        at: T0 + 10,
        data: { id: gone.id, queuedAt: T0, expiresAt: T0 + 10 },
      });
      // A session emptied by expiry no longer counts against maxSessions.
      await enqueue(store(), message("c"), { maxQueueSize: 10, maxSessions: 2 });
    });

    it("clears queued messages but leaves claimed ones to be settled", async () => {
      const claimedFirst = await enqueue(store(), message("s1"));
      const cleared1 = await enqueue(store(), message("s1"));
      await enqueue(store(), message("s1"));
      await claim(store(), "s1");
      const cleared = await store().interrupts.remove({
        reason: "cleared",
        now: T0,
        sessionId: "s1",
      });
      expect(cleared).toHaveLength(2);
      expect(await store().interrupts.stats("s1")).toMatchObject({
        queued: 3,
        cleared: 2,
        depth: 0,
        inFlight: 1,
      });
      expect((await store().interrupts.get(cleared1.id))?.state).toBe("cleared");
      await settle(store(), claimedFirst.id);
      expect((await store().interrupts.get(claimedFirst.id))?.state).toBe("applied");
      expect(
        await store().interrupts.remove({ reason: "cleared", now: T0, sessionId: "nobody" }),
      ).toEqual([]);
      const kinds = (await store().audit.list("s1")).items.map((e) => e.kind);
      expect(kinds.filter((k) => k === "interrupt.cleared")).toHaveLength(2);
    });

    it("deletes a session's queue: queued and claimed messages, counters and sequence", async () => {
      const claimed = await enqueue(store(), message("s1"));
      await enqueue(store(), message("s1"));
      await enqueue(store(), message("other"));
      await claim(store(), "s1");
      const removed = await store().interrupts.remove({
        reason: "deleted",
        now: T0,
        sessionId: "s1",
      });
      expect(removed).toHaveLength(2);
      await settle(store(), claimed.id);
      expect((await store().interrupts.stats("s1")).queued).toBe(0);
      expect((await store().interrupts.stats("other")).depth).toBe(1);
      expect((await enqueue(store(), message("s1"))).seq).toBe(1);
    });
  });
}
