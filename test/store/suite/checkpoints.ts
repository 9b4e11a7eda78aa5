import { describe, expect, it } from "vitest";
import { CheckpointConflictError, LeaseLostError } from "../../../src/errors.js";
import type { Store } from "../../../src/store/store.js";
import { asJson, checkpoint, enqueue, lease, message, T0 } from "./fixtures.js";

export function checkpointCases(store: () => Store): void {
  const commit = (records: Parameters<Store["commit"]>[0]["checkpoints"]) =>
    store().commit({ checkpoints: records ?? [], now: T0 });

  describe("checkpoints", () => {
    it("gives back a committed checkpoint by id as the JSON it was given", async () => {
      const full = checkpoint("s1", 1, {
        next: ["a", "b"],
        meta: {
          v: 1,
          graph: "g",
          path: [],
          gate: {
            requestId: "r1",
            node: "draft",
            revision: 0,
            maxRevisions: 3,
            output: { text: "ünïcødé ✓", n: 1.5, list: [null, { deep: [true] }] },
            history: [],
            openedAt: T0,
            queueSeq: 4,
          },
        },
      });
      const delta = checkpoint("s1", 2, {
        kind: "delta",
        delta: [
          ["log", "append", ["x", { y: 1 }]],
          ["profile", "merge", { name: "Ada" }],
        ],
      });
      await commit([full, delta]);
      expect(asJson(await store().checkpoints.get("s1", "", full.id))).toEqual(asJson(full));
      expect(asJson(await store().checkpoints.get("s1", "", delta.id))).toEqual(asJson(delta));
      expect(await store().checkpoints.get("s1", "", "missing")).toBeUndefined();
      expect(await store().checkpoints.get("other", "", full.id)).toBeUndefined();
      expect(await store().checkpoints.get("s1", "child", full.id)).toBeUndefined();
    });

    it("keeps a large string and a Date's JSON exactly", async () => {
      const big = "x".repeat(1_000_000);
      const when = new Date(T0 + 123);
      const record = checkpoint("s1", 1, {
        kind: "full",
        state: { big, when: when.toISOString() },
      });
      await commit([record]);
      const got = await store().checkpoints.get("s1", "", record.id);
      expect(got?.kind === "full" && got.state.big).toBe(big);
      expect(got?.kind === "full" && got.state.when).toBe(when.toISOString());
    });

    it("returns the checkpoint with the highest seq as the latest", async () => {
      expect(await store().checkpoints.latest("s1", "")).toBeUndefined();
      await commit([checkpoint("s1", 1), checkpoint("s1", 2)]);
      await commit([checkpoint("s1", 3)]);
      expect((await store().checkpoints.latest("s1", ""))?.seq).toBe(3);
    });

    it("lists newest first and pages with limit and beforeSeq", async () => {
      await commit(Array.from({ length: 7 }, (_, i) => checkpoint("s1", i + 1)));
      const all = await store().checkpoints.list("s1", "");
      expect(all.map((r) => r.seq)).toEqual([7, 6, 5, 4, 3, 2, 1]);
      const seen: number[] = [];
      let beforeSeq: number | undefined;
      for (;;) {
        const page = await store().checkpoints.list(
          "s1",
          "",
          beforeSeq === undefined ? { limit: 3 } : { limit: 3, beforeSeq },
        );
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(3);
        seen.push(...page.map((r) => r.seq));
        beforeSeq = page.at(-1)!.seq;
      }
      expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
      expect(await store().checkpoints.list("empty", "")).toEqual([]);
    });

    it("follows a delta chain back to the nearest full checkpoint, oldest first", async () => {
      await commit([
        checkpoint("s1", 1),
        checkpoint("s1", 2),
        checkpoint("s1", 3),
        checkpoint("s1", 4, { kind: "full", state: { count: 4 } }),
        checkpoint("s1", 5),
        // A branch from seq 2.
        checkpoint("s1", 6, { parentId: "s1|#2" }),
      ]);
      const seqs = async (id: string) =>
        (await store().checkpoints.lineage("s1", "", id)).map((r) => r.seq);
      expect(await seqs("s1|#3")).toEqual([1, 2, 3]);
      expect(await seqs("s1|#5")).toEqual([4, 5]);
      expect(await seqs("s1|#4")).toEqual([4]);
      expect(await seqs("s1|#6")).toEqual([1, 2, 6]);
      expect(await seqs("s1|#1")).toEqual([1]);
      expect(await store().checkpoints.lineage("s1", "", "missing")).toEqual([]);
    });

    it("ends a lineage early where a parent is missing", async () => {
      await commit([checkpoint("s1", 2, { parentId: "gone" }), checkpoint("s1", 3)]);
      expect((await store().checkpoints.lineage("s1", "", "s1|#3")).map((r) => r.seq)).toEqual([
        2, 3,
      ]);
    });

    it("keeps threads and sessions apart, whatever their names", async () => {
      // A session id with a slash never meets a nested thread of another session.
      await commit([
        checkpoint("a", 1),
        checkpoint("a", 1, { thread: "child" }),
        checkpoint("a/child", 1),
        checkpoint("a", 2, { thread: "child" }),
      ]);
      expect((await store().checkpoints.list("a", "")).map((r) => r.seq)).toEqual([1]);
      expect((await store().checkpoints.list("a", "child")).map((r) => r.seq)).toEqual([2, 1]);
      expect((await store().checkpoints.list("a/child", "")).map((r) => r.seq)).toEqual([1]);
      expect(await store().checkpoints.list("a/child", "child")).toEqual([]);
    });

    it("refuses a batch with a seq or id already stored, writing none of it", async () => {
      await commit([checkpoint("s1", 1), checkpoint("s1", 2)]);
      const m = await enqueue(store(), message("s1"));
      const attempts = [
        [checkpoint("s1", 2, { id: "another-id" })],
        [checkpoint("s1", 3, { id: "s1|#1" })],
        [checkpoint("s1", 3), checkpoint("s1", 3, { id: "again" })],
      ];
      for (const records of attempts) {
        await expect(
          store().commit({
            checkpoints: records,
            settle: [
              {
                id: m.id,
                outcome: { status: "applied", action: { type: "continue" }, appliedAt: T0 },
              },
            ],
            audit: [{ sessionId: "s1", at: T0, kind: "custom.never" }],
            now: T0,
          }),
        ).rejects.toThrow(CheckpointConflictError);
      }
      expect((await store().checkpoints.latest("s1", ""))?.seq).toBe(2);
      expect(await store().checkpoints.get("s1", "", "s1|#3")).toBeUndefined();
      expect((await store().interrupts.get(m.id))?.state).toBe("queued");
      const { items } = await store().audit.list("s1");
      expect(items.map((e) => e.kind)).not.toContain("custom.never");
    });

    it("refuses a batch whose lease is no longer the session's, writing none of it", async () => {
      const first = await lease(store(), "s1", { ttlMs: 10 });
      const second = await lease(store(), "s1", { now: T0 + 10 });
      await expect(
        store().commit({ lease: first, checkpoints: [checkpoint("s1", 1)], now: T0 + 11 }),
      ).rejects.toThrow(LeaseLostError);
      expect(await store().checkpoints.latest("s1", "")).toBeUndefined();
      await store().commit({ lease: second, checkpoints: [checkpoint("s1", 1)], now: T0 + 11 });
      expect((await store().checkpoints.latest("s1", ""))?.seq).toBe(1);
    });

    it("prunes each thread to its newest checkpoints and what rebuilds them", async () => {
      await commit([
        ...Array.from({ length: 6 }, (_, i) => checkpoint("s1", i + 1)),
        checkpoint("s1", 7, { kind: "full", state: { count: 7 } }),
        checkpoint("s1", 8),
        checkpoint("s1", 1, { thread: "child" }),
        checkpoint("s1", 2, { thread: "child" }),
        checkpoint("s1", 3, { thread: "child" }),
        checkpoint("other", 1),
        checkpoint("other", 2),
      ]);
      // keep 1: seq 8 is a delta on the full 7; the child's 3 needs 1 and 2.
      expect(await store().checkpoints.prune("s1", { keep: 1 })).toBe(6);
      expect((await store().checkpoints.list("s1", "")).map((r) => r.seq)).toEqual([8, 7]);
      expect((await store().checkpoints.list("s1", "child")).map((r) => r.seq)).toEqual([3, 2, 1]);
      expect(await store().checkpoints.list("other", "")).toHaveLength(2);
      expect(await store().checkpoints.prune("s1", { keep: 3 })).toBe(0);
    });
  });
}
