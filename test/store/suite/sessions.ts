import { describe, expect, it } from "vitest";
import { InvalidOptionError, SessionBusyError } from "../../../src/errors.js";
import type { Store } from "../../../src/store/store.js";
import { checkpoint, enqueue, GATE, lease, leaseRequest, message, T0 } from "./fixtures.js";

export function sessionCases(store: () => Store): void {
  describe("sessions", () => {
    it("gives a session's lease to one owner at a time", async () => {
      const first = await lease(store(), "s1", { owner: "alpha" });
      expect(first).toMatchObject({
        sessionId: "s1",
        owner: "alpha",
        expiresAt: T0 + 30_000,
        ttlMs: 30_000,
      });
      const busy = await store().sessions.acquire(leaseRequest("s1", { now: T0 + 29_999 }));
      expect(busy).toEqual({ ok: false, owner: "alpha", expiresAt: T0 + 30_000 });
      // Other sessions are unaffected.
      await lease(store(), "s2");
    });

    it("lets exactly one of many concurrent acquirers win", async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store().sessions.acquire(leaseRequest("s1", { owner: `o${i}` })),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    });

    it("hands an expired lease to the next acquirer, and the old one is lost", async () => {
      const first = await lease(store(), "s1", { ttlMs: 1_000 });
      const second = await lease(store(), "s1", { now: T0 + 1_000 });
      expect(second.token).not.toBe(first.token);
      expect(await store().sessions.renew(first, T0 + 1_001)).toBeUndefined();
      await store().sessions.release(first);
      const busy = await store().sessions.acquire(leaseRequest("s1", { now: T0 + 1_002 }));
      expect(busy.ok).toBe(false);
    });

    it("renews a current lease and releases it", async () => {
      const held = await lease(store(), "s1", { ttlMs: 1_000 });
      const renewed = await store().sessions.renew(held, T0 + 900);
      expect(renewed?.expiresAt).toBe(T0 + 1_900);
      expect((await store().sessions.acquire(leaseRequest("s1", { now: T0 + 1_500 }))).ok).toBe(
        false,
      );
      await store().sessions.release(renewed!);
      await lease(store(), "s1", { now: T0 + 1_500 });
    });

    it("extends a lease with each committed batch", async () => {
      const held = await lease(store(), "s1", { ttlMs: 1_000 });
      await store().commit({ lease: held, checkpoints: [checkpoint("s1", 1)], now: T0 + 800 });
      expect((await store().sessions.acquire(leaseRequest("s1", { now: T0 + 1_700 }))).ok).toBe(
        false,
      );
      expect((await store().sessions.acquire(leaseRequest("s1", { now: T0 + 1_800 }))).ok).toBe(
        true,
      );
    });

    it("summarises a session from the newest checkpoint of its own thread", async () => {
      expect(await store().sessions.get("s1")).toBeUndefined();
      await store().commit({
        checkpoints: [checkpoint("s1", 1, { meta: { v: 1, graph: "review" } })],
        now: T0,
      });
      await store().commit({
        checkpoints: [
          checkpoint("s1", 2, { status: "paused", meta: { v: 1, gate: GATE } }),
          checkpoint("s1", 1, { thread: "child", status: "failed" }),
        ],
        now: T0,
      });
      expect(await store().sessions.get("s1")).toEqual({
        sessionId: "s1",
        graph: "review",
        status: "paused",
        checkpointId: "s1|#2",
        createdAt: T0 + 1,
        updatedAt: T0 + 2,
        gate: GATE,
      });
      await store().commit({
        checkpoints: [checkpoint("s1", 3, { status: "completed" })],
        now: T0,
      });
      const done = await store().sessions.get("s1");
      expect(done).toMatchObject({ status: "completed", graph: "review" });
      expect(done).not.toHaveProperty("gate");
    });

    it("lists the inbox newest first, by status, graph and open approval, one page at a time", async () => {
      const add = (id: string, seq: number, fields: Parameters<typeof checkpoint>[2]) =>
        store().commit({ checkpoints: [checkpoint(id, seq, fields)], now: T0 });
      await add("a", 1, { status: "completed", meta: { v: 1, graph: "g1" }, createdAt: T0 + 10 });
      await add("b", 1, {
        status: "paused",
        meta: { v: 1, graph: "g1", gate: GATE },
        createdAt: T0 + 30,
      });
      await add("c", 1, { status: "paused", meta: { v: 1, graph: "g2" }, createdAt: T0 + 20 });
      await add("d", 1, { status: "failed", meta: { v: 1, graph: "g2" }, createdAt: T0 + 40 });
      const ids = async (query: Parameters<Store["sessions"]["list"]>[0]) =>
        (await store().sessions.list(query)).items.map((s) => s.sessionId);
      expect(await ids({})).toEqual(["d", "b", "c", "a"]);
      expect(await ids({ status: "paused" })).toEqual(["b", "c"]);
      expect(await ids({ graph: "g1" })).toEqual(["b", "a"]);
      expect(await ids({ waiting: "approval" })).toEqual(["b"]);
      const page = await store().sessions.list({ offset: 1, limit: 2 });
      expect(page).toMatchObject({ total: 4 });
      expect(page.items.map((s) => s.sessionId)).toEqual(["b", "c"]);
      await expect(store().sessions.list({ limit: 0 })).rejects.toThrow(InvalidOptionError);
    });

    it("refuses to delete a session while a run holds its lease, and deletes nothing", async () => {
      const held = await lease(store(), "busy");
      await store().commit({ lease: held, checkpoints: [checkpoint("busy", 1)], now: T0 });
      const queued = await enqueue(store(), message("busy"));
      const refused = store().sessions.delete("busy", { now: T0 + 5 });
      await expect(refused).rejects.toThrow(SessionBusyError);
      await expect(refused).rejects.toMatchObject({ owner: held.owner, expiresAt: held.expiresAt });
      expect(await store().sessions.get("busy")).toBeDefined();
      expect(await store().interrupts.get(queued.id)).toMatchObject({ state: "queued" });
      expect((await store().audit.list("busy")).items.map((e) => e.kind)).toEqual([
        "interrupt.received",
      ]);
      // The run is still the session's only writer.
      await store().commit({ lease: held, checkpoints: [checkpoint("busy", 2)], now: T0 + 6 });
      await store().sessions.release(held);
      await store().sessions.delete("busy", { now: T0 + 7 });
      expect(await store().sessions.get("busy")).toBeUndefined();
    });

    it("deletes a session with everything it owns but its audit trail", async () => {
      // A lease that ran out: its holder is gone, and the deletion takes the session from it.
      await lease(store(), "s1", { ttlMs: 1 });
      await store().commit({
        checkpoints: [checkpoint("s1", 1), checkpoint("s1", 1, { thread: "child" })],
        now: T0,
      });
      const queued = await enqueue(store(), message("s1"));
      await enqueue(store(), message("other"));
      await store().commit({ checkpoints: [checkpoint("other", 1)], now: T0 });
      await store().sessions.delete("s1", { now: T0 + 5, actor: "admin" });
      expect(await store().checkpoints.latest("s1", "")).toBeUndefined();
      expect(await store().checkpoints.latest("s1", "child")).toBeUndefined();
      expect(await store().sessions.get("s1")).toBeUndefined();
      expect(await store().interrupts.get(queued.id)).toBeUndefined();
      expect((await store().interrupts.stats("s1")).lastSeq).toBe(0);
      expect((await store().sessions.acquire(leaseRequest("s1"))).ok).toBe(true);
      const { items } = await store().audit.list("s1");
      expect(items.map((e) => e.kind)).toEqual([
        "interrupt.received",
        "interrupt.cleared",
        "session.deleted",
      ]);
      expect(items.at(-1)).toMatchObject({ actor: "admin", at: T0 + 5 });
      // A session created again under the id goes on with the same trail, after the deletion.
      await store().audit.append({ sessionId: "s1", at: T0 + 6, kind: "custom.again" });
      const again = (await store().audit.list("s1")).items;
      expect(again.map((e) => e.kind).slice(-2)).toEqual(["session.deleted", "custom.again"]);
      expect(again.at(-1)!.seq).toBeGreaterThan(again.at(-2)!.seq);
      expect(await store().sessions.get("other")).toBeDefined();
      expect((await store().interrupts.stats("other")).depth).toBe(1);
    });
  });
}
