import { describe, expect, it } from "vitest";
import { LeaseLostError } from "../../../src/errors.js";
import type { StoreEvent } from "../../../src/store/notifier.js";
import type { Store } from "../../../src/store/store.js";
import { checkpoint, enqueue, lease, leaseRequest, message, T0 } from "./fixtures.js";

const APPLIED = { status: "applied", action: { type: "continue" }, appliedAt: T0 } as const;

export function batchCases(store: () => Store): void {
  describe("batches", () => {
    it("writes nothing of a batch whose lease was lost: no settlement, no audit entry, no renewal", async () => {
      const queued = await enqueue(store(), message("s1"));
      const old = await lease(store(), "s1", { ttlMs: 10 });
      const current = await lease(store(), "s1", { now: T0 + 10, ttlMs: 1_000 });
      await expect(
        store().commit({
          lease: old,
          checkpoints: [checkpoint("s1", 1)],
          settle: [{ id: queued.id, outcome: APPLIED }],
          audit: [{ sessionId: "s1", at: T0 + 11, kind: "custom.never" }],
          now: T0 + 11,
        }),
      ).rejects.toThrow(LeaseLostError);
      expect((await store().interrupts.get(queued.id))?.state).toBe("queued");
      expect(await store().interrupts.stats("s1")).toMatchObject({ applied: 0, depth: 1 });
      expect((await store().audit.list("s1")).items.map((e) => e.kind)).toEqual([
        "interrupt.received",
      ]);
      expect(await store().sessions.get("s1")).toBeUndefined();
      // The current lease still runs out when it did.
      expect((await store().sessions.acquire(leaseRequest("s1", { now: T0 + 1_010 }))).ok).toBe(
        true,
      );
      expect(current.expiresAt).toBe(T0 + 1_010);
    });

    it("tells listeners nothing about a batch it refused", async () => {
      const events: StoreEvent[] = [];
      const stop = store().notifier.subscribe(null, (event) => events.push(event));
      try {
        await store().commit({ checkpoints: [checkpoint("s1", 1)], now: T0 });
        const queued = await enqueue(store(), message("s1"));
        await expect(
          store().commit({
            checkpoints: [checkpoint("s1", 2), checkpoint("s1", 2, { id: "again" })],
            settle: [{ id: queued.id, outcome: APPLIED }],
            now: T0,
          }),
        ).rejects.toThrow();
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(events.map((e) => e.kind)).toEqual(["checkpoint", "queued"]);
      } finally {
        stop();
      }
    });

    it("renews the lease with a batch that holds no checkpoint", async () => {
      const held = await lease(store(), "s1", { ttlMs: 1_000 });
      await store().commit({
        lease: held,
        audit: [{ sessionId: "s1", at: T0 + 500, kind: "custom.tick" }],
        now: T0 + 500,
      });
      expect((await store().sessions.acquire(leaseRequest("s1", { now: T0 + 1_200 }))).ok).toBe(
        false,
      );
    });

    it("skips the settlement of a message that was cleared, counting nothing", async () => {
      const queued = await enqueue(store(), message("s1"));
      await store().interrupts.remove({ reason: "cleared", now: T0, sessionId: "s1" });
      await store().commit({ settle: [{ id: queued.id, outcome: APPLIED }], now: T0 + 5 });
      expect((await store().interrupts.get(queued.id))?.state).toBe("cleared");
      expect(await store().interrupts.stats("s1")).toMatchObject({
        applied: 0,
        cleared: 1,
        totalDecisionMs: 0,
      });
    });
  });
}
