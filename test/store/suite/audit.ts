import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../../src/errors.js";
import type { Store } from "../../../src/store/store.js";
import { T0 } from "./fixtures.js";

export function auditCases(store: () => Store): void {
  describe("audit", () => {
    it("appends entries numbered from 1 per session and lists them oldest first", async () => {
      const firstSeq = await store().audit.append({
        sessionId: "s1",
        runId: "run-1",
        at: T0,
        kind: "interrupt.received",
        actor: "ana",
        node: "draft",
        iteration: 3,
        data: { id: "m-1", nested: { list: [1, 2] } },
      });
      expect(firstSeq).toBe(1);
      const [first] = (await store().audit.list("s1")).items;
      expect(first).toEqual({
        seq: 1,
        sessionId: "s1",
        runId: "run-1",
        at: T0,
        kind: "interrupt.received",
        actor: "ana",
        node: "draft",
        iteration: 3,
        data: { id: "m-1", nested: { list: [1, 2] } },
      });
      await store().audit.append({ sessionId: "s2", at: T0, kind: "run.paused" });
      const secondSeq = await store().audit.append({
        sessionId: "s1",
        at: T0 + 1,
        kind: "run.resumed",
      });
      expect(secondSeq).toBe(2);
      const page = await store().audit.list("s1");
      expect(page.items[1]).not.toHaveProperty("data");
      expect(page.total).toBe(2);
      expect(page.items.map((e) => e.kind)).toEqual(["interrupt.received", "run.resumed"]);
    });

    it("appends the entries of a commit in order, after what came before", async () => {
      await store().audit.append({ sessionId: "s1", at: T0, kind: "run.started" });
      await store().commit({
        audit: [
          { sessionId: "s1", at: T0 + 1, kind: "approval.decided", data: { decision: "approve" } },
          { sessionId: "s1", at: T0 + 1, kind: "run.finished", data: { status: "completed" } },
        ],
        now: T0 + 1,
      });
      const { items } = await store().audit.list("s1");
      expect(items.map((e) => [e.seq, e.kind])).toEqual([
        [1, "run.started"],
        [2, "approval.decided"],
        [3, "run.finished"],
      ]);
    });

    it("numbers entries appended at once without gaps or repeats", async () => {
      const seqs = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store().audit.append({ sessionId: "s1", at: T0 + i, kind: "custom.tick" }),
        ),
      );
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    });

    it("pages through a session's entries", async () => {
      for (let i = 0; i < 75; i++) {
        await store().audit.append({ sessionId: "s1", at: T0 + i, kind: "custom.tick", data: i });
      }
      const first = await store().audit.list("s1");
      expect(first.items).toHaveLength(50);
      expect(first.total).toBe(75);
      const rest = await store().audit.list("s1", { offset: 60, limit: 10 });
      expect(rest.items.map((e) => e.data)).toEqual([60, 61, 62, 63, 64, 65, 66, 67, 68, 69]);
      expect(await store().audit.list("nobody")).toEqual({ items: [], total: 0 });
      await expect(store().audit.list("s1", { limit: 0 })).rejects.toThrow(InvalidOptionError);
    });

    it("keeps a JSON copy of data, unaffected by later changes", async () => {
      const data = { count: 1, when: new Date(T0) };
      await store().audit.append({ sessionId: "s1", at: T0, kind: "state.updated", data });
      data.count = 2;
      const [entry] = (await store().audit.list("s1")).items;
      expect(entry?.data).toEqual({ count: 1, when: new Date(T0).toISOString() });
    });

    it("refuses data that is not JSON, and an empty session id", async () => {
      await expect(
        store().audit.append({ sessionId: "s1", at: T0, kind: "state.updated", data: 10n }),
      ).rejects.toThrow(InvalidOptionError);
      await expect(
        store().audit.append({ sessionId: "", at: T0, kind: "run.started" }),
      ).rejects.toThrow(InvalidOptionError);
      expect((await store().audit.list("s1")).total).toBe(0);
    });

    it("prunes entries older than a time, of one session or all, and never reuses a seq", async () => {
      for (let i = 0; i < 5; i++) {
        await store().audit.append({ sessionId: "a", at: T0 + i, kind: "custom.tick" });
        await store().audit.append({ sessionId: "b", at: T0 + i, kind: "custom.tick" });
      }
      expect(await store().audit.prune({ before: T0 + 2, sessionId: "a" })).toBe(2);
      expect((await store().audit.list("a")).items.map((e) => e.seq)).toEqual([3, 4, 5]);
      expect((await store().audit.list("b")).total).toBe(5);
      expect(await store().audit.prune({ before: T0 + 4 })).toBe(2 + 4);
      expect(await store().audit.append({ sessionId: "a", at: T0 + 9, kind: "custom.tick" })).toBe(
        6,
      );
    });
  });
}
