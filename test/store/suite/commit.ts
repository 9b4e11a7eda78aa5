import { describe, expect, it } from "vitest";
import { CheckpointConflictError, LeaseLostError } from "../../../src/errors.js";
import type { Store } from "../../../src/store/store.js";
import { checkpoint, lease, leaseRequest, T0 } from "./fixtures.js";

/** What `Store.commit` promises beyond the cases of the parts it writes. */
export function commitCases(store: () => Store): void {
  describe("commit", () => {
    it("refuses a checkpoint whose seq is not above its thread's latest, even when that seq is free", async () => {
      await store().commit({ checkpoints: [checkpoint("s1", 1), checkpoint("s1", 3)], now: T0 });
      await expect(store().commit({ checkpoints: [checkpoint("s1", 2)], now: T0 })).rejects.toThrow(
        CheckpointConflictError,
      );
      // Another thread of the session keeps its own numbers.
      await store().commit({ checkpoints: [checkpoint("s1", 2, { thread: "child" })], now: T0 });
      expect((await store().checkpoints.list("s1", "")).map((r) => r.seq)).toEqual([3, 1]);
    });

    it("extends a lease with a batch that holds nothing else, and refuses it once lost", async () => {
      const held = await lease(store(), "s1", { ttlMs: 1_000 });
      await store().commit({ lease: held, now: T0 + 900 });
      expect((await store().sessions.acquire(leaseRequest("s1", { now: T0 + 1_899 }))).ok).toBe(
        false,
      );
      await lease(store(), "s1", { now: T0 + 1_900 });
      await expect(store().commit({ lease: held, now: T0 + 1_901 })).rejects.toThrow(
        LeaseLostError,
      );
    });

    it("writes nothing of a batch whose audit entry is invalid", async () => {
      await expect(
        store().commit({
          checkpoints: [checkpoint("s1", 1)],
          audit: [{ sessionId: "", at: T0, kind: "custom.bad" }],
          now: T0,
        }),
      ).rejects.toThrow();
      expect(await store().checkpoints.latest("s1", "")).toBeUndefined();
      expect(await store().sessions.get("s1")).toBeUndefined();
    });
  });
}
