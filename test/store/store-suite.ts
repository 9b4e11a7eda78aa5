import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidOptionError, TrellisError } from "../../src/errors.js";
import type { QueuedInterrupt } from "../../src/interrupts/interrupt-message.js";
import type { CheckpointRecord } from "../../src/store/checkpoint-store.js";
import type {
  EnqueueLimits,
  EnqueueResult,
  NewInterruptRecord,
} from "../../src/store/interrupt-store.js";
import type { Store } from "../../src/store/store.js";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const WIDE: EnqueueLimits = { maxQueueSize: 1000, maxSessions: 1000 };

function checkpoint(
  threadId: string,
  seq: number,
  fields: Partial<CheckpointRecord> = {},
): CheckpointRecord {
  return {
    threadId,
    id: `${threadId}#${seq}`,
    seq,
    parentId: seq === 1 ? null : `${threadId}#${seq - 1}`,
    runId: "run-1",
    node: seq === 1 ? null : `node-${seq}`,
    iteration: seq - 1,
    next: [`node-${seq + 1}`],
    status: "running",
    kind: seq === 1 ? "full" : "delta",
    payload: seq === 1 ? '{"count":0}' : `[["count","set",${seq}]]`,
    meta: null,
    createdAt: T0 + seq,
    ...fields,
  };
}

let counter = 0;
function message(
  sessionId: string,
  fields: { priority?: number; queuedAt?: number; ttl?: number; id?: string } = {},
): NewInterruptRecord {
  counter++;
  const queuedAt = fields.queuedAt ?? T0;
  return {
    id: fields.id ?? `msg-${counter}`,
    sessionId,
    priority: fields.priority ?? 2,
    queuedAt,
    expiresAt: queuedAt + (fields.ttl ?? HOUR),
    kind: "text",
    text: `message ${counter}`,
  };
}

function accepted(result: EnqueueResult): QueuedInterrupt {
  if (!result.ok) throw new Error(`expected the message to be queued, got ${result.reason}`);
  return result.record;
}

/**
 * The behaviour every `Store` backend must have. Call it from a test file with a factory that
 * returns a fresh, empty store; the suite closes each store after its test.
 *
 * @example
 * ```ts
 * describeStore("MemoryStore", () => new MemoryStore());
 * ```
 */
export function describeStore(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`Store: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close?.();
    });

    describe("checkpoints", () => {
      it("returns an appended checkpoint by id, equal to what was appended", async () => {
        const record = checkpoint("s1", 1, { meta: '{"pending":null}', next: ["a", "b"] });
        await store.checkpoints.append([record]);
        expect(await store.checkpoints.get("s1", record.id)).toEqual(record);
        expect(await store.checkpoints.get("s1", "missing")).toBeUndefined();
        expect(await store.checkpoints.get("other", record.id)).toBeUndefined();
      });

      it("returns the checkpoint with the highest seq as the latest", async () => {
        expect(await store.checkpoints.latest("s1")).toBeUndefined();
        await store.checkpoints.append([checkpoint("s1", 1), checkpoint("s1", 2)]);
        await store.checkpoints.append([checkpoint("s1", 3)]);
        expect((await store.checkpoints.latest("s1"))?.seq).toBe(3);
      });

      it("lists newest first and pages with limit and beforeSeq", async () => {
        await store.checkpoints.append(
          Array.from({ length: 7 }, (_, i) => checkpoint("s1", i + 1)),
        );
        const all = await store.checkpoints.list("s1");
        expect(all.map((r) => r.seq)).toEqual([7, 6, 5, 4, 3, 2, 1]);

        const seen: number[] = [];
        let beforeSeq: number | undefined;
        for (;;) {
          const page = await store.checkpoints.list(
            "s1",
            beforeSeq === undefined ? { limit: 3 } : { limit: 3, beforeSeq },
          );
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(3);
          seen.push(...page.map((r) => r.seq));
          beforeSeq = page.at(-1)!.seq;
        }
        expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
        expect(await store.checkpoints.list("empty")).toEqual([]);
      });

      it("follows a delta chain back to the nearest full checkpoint, oldest first", async () => {
        await store.checkpoints.append([
          checkpoint("s1", 1),
          checkpoint("s1", 2),
          checkpoint("s1", 3),
          checkpoint("s1", 4, { kind: "full", payload: '{"count":4}' }),
          checkpoint("s1", 5),
          // A fork from seq 2.
          checkpoint("s1", 6, { parentId: "s1#2" }),
        ]);
        const ids = async (id: string) =>
          (await store.checkpoints.lineage("s1", id)).map((r) => r.seq);
        expect(await ids("s1#3")).toEqual([1, 2, 3]);
        expect(await ids("s1#5")).toEqual([4, 5]);
        expect(await ids("s1#4")).toEqual([4]);
        expect(await ids("s1#6")).toEqual([1, 2, 6]);
        expect(await ids("s1#1")).toEqual([1]);
        expect(await store.checkpoints.lineage("s1", "missing")).toEqual([]);
      });

      it("deletes a thread and the threads nested under it, and no other", async () => {
        for (const thread of ["s1", "s1/child", "s1/child/grandchild", "s10", "s1-other", "s2"]) {
          await store.checkpoints.append([checkpoint(thread, 1)]);
        }
        await store.checkpoints.deleteThread("s1");
        for (const thread of ["s1", "s1/child", "s1/child/grandchild"]) {
          expect(await store.checkpoints.latest(thread)).toBeUndefined();
        }
        for (const thread of ["s10", "s1-other", "s2"]) {
          expect((await store.checkpoints.latest(thread))?.seq).toBe(1);
        }
        // A deleted thread can start again.
        await store.checkpoints.append([checkpoint("s1", 1)]);
        expect((await store.checkpoints.latest("s1"))?.seq).toBe(1);
      });

      it("rejects a checkpoint whose seq or id is already stored, and writes none of its batch", async () => {
        await store.checkpoints.append([checkpoint("s1", 1), checkpoint("s1", 2)]);
        await expect(
          store.checkpoints.append([checkpoint("s1", 2, { id: "another-id" })]),
        ).rejects.toThrow(TrellisError);
        await expect(
          store.checkpoints.append([checkpoint("s1", 3, { id: "s1#1" })]),
        ).rejects.toThrow(TrellisError);
        await expect(
          store.checkpoints.append([
            checkpoint("s1", 3),
            checkpoint("s1", 2, { id: "conflicting" }),
          ]),
        ).rejects.toThrow(/conflict/i);
        expect((await store.checkpoints.latest("s1"))?.seq).toBe(2);
        expect(await store.checkpoints.get("s1", "s1#3")).toBeUndefined();
      });

      it("keeps threads apart", async () => {
        await store.checkpoints.append([
          checkpoint("a", 1),
          checkpoint("b", 1),
          checkpoint("b", 2),
        ]);
        expect((await store.checkpoints.list("a")).map((r) => r.threadId)).toEqual(["a"]);
        expect(await store.checkpoints.list("b")).toHaveLength(2);
      });
    });

    describe("interrupts", () => {
      it("numbers each session's messages from 1 in arrival order", async () => {
        const a1 = accepted(await store.interrupts.enqueue(message("a"), WIDE));
        const a2 = accepted(await store.interrupts.enqueue(message("a"), WIDE));
        const b1 = accepted(await store.interrupts.enqueue(message("b"), WIDE));
        expect([a1.seq, a2.seq, b1.seq]).toEqual([1, 2, 1]);
      });

      it("stores the message as given, with its metadata and action", async () => {
        const record: NewInterruptRecord = {
          id: "m-1",
          sessionId: "s1",
          priority: 2,
          queuedAt: T0,
          expiresAt: T0 + HOUR,
          sender: "ana",
          metadata: { source: "web", tags: ["x"] },
          kind: "action",
          action: { type: "go_back", to: "draft" },
        };
        const stored = accepted(await store.interrupts.enqueue(record, WIDE));
        expect(stored).toEqual({ ...record, seq: 1 });
        expect((await store.interrupts.list("s1")).items).toEqual([{ ...record, seq: 1 }]);
      });

      it("is not changed by later changes to the object that was enqueued", async () => {
        const record = { ...message("s1"), metadata: { n: 1 } };
        await store.interrupts.enqueue(record, WIDE);
        (record.metadata as { n: number }).n = 2;
        expect((await store.interrupts.list("s1")).items[0]?.metadata).toEqual({ n: 1 });
      });

      it("serves by priority, then by arrival", async () => {
        const ids: string[] = [];
        for (const priority of [2, 1, 2, 0, 1, 0, 2]) {
          const record = accepted(
            await store.interrupts.enqueue(message("s1", { priority }), WIDE),
          );
          ids.push(record.id);
        }
        const expected = [ids[3], ids[5], ids[1], ids[4], ids[0], ids[2], ids[6]];
        expect((await store.interrupts.list("s1")).items.map((r) => r.id)).toEqual(expected);
        const claimed: string[] = [];
        for (;;) {
          const next = await store.interrupts.claim("s1", T0);
          if (!next) break;
          claimed.push(next.id);
        }
        expect(claimed).toEqual(expected);
      });

      it("claims a message once: it leaves the list and counts as in flight", async () => {
        const first = accepted(await store.interrupts.enqueue(message("s1"), WIDE));
        await store.interrupts.enqueue(message("s1"), WIDE);
        const claimed = await store.interrupts.claim("s1", T0);
        expect(claimed?.id).toBe(first.id);
        const page = await store.interrupts.list("s1");
        expect(page.total).toBe(1);
        expect(page.items.map((r) => r.id)).not.toContain(first.id);
        expect(await store.interrupts.stats("s1")).toMatchObject({ depth: 1, inFlight: 1 });
        expect(await store.interrupts.claim("other", T0)).toBeUndefined();
      });

      it("skips expired messages when claiming but leaves them for remove", async () => {
        await store.interrupts.enqueue(message("s1", { priority: 0, ttl: 10 }), WIDE);
        const live = accepted(await store.interrupts.enqueue(message("s1", { ttl: 1000 }), WIDE));
        // expiresAt equal to now counts as expired.
        expect((await store.interrupts.claim("s1", T0 + 10))?.id).toBe(live.id);
        expect(await store.interrupts.claim("s1", T0 + 10)).toBeUndefined();
        expect((await store.interrupts.stats("s1")).depth).toBe(1);
      });

      it("refuses a message when the session's queue is full and keeps the others", async () => {
        const limits = { maxQueueSize: 3, maxSessions: 10 };
        for (let i = 0; i < 3; i++) accepted(await store.interrupts.enqueue(message("s1"), limits));
        expect(await store.interrupts.enqueue(message("s1"), limits)).toEqual({
          ok: false,
          reason: "queue_full",
          depth: 3,
        });
        expect((await store.interrupts.list("s1")).total).toBe(3);
        // Claimed messages no longer count against the bound.
        await store.interrupts.claim("s1", T0);
        accepted(await store.interrupts.enqueue(message("s1"), limits));
      });

      it("refuses a new session when maxSessions sessions have queued messages", async () => {
        const limits = { maxQueueSize: 10, maxSessions: 2 };
        accepted(await store.interrupts.enqueue(message("a"), limits));
        accepted(await store.interrupts.enqueue(message("b"), limits));
        expect(await store.interrupts.enqueue(message("c"), limits)).toEqual({
          ok: false,
          reason: "too_many_sessions",
          sessions: 2,
        });
        // A session that already has messages may add more.
        accepted(await store.interrupts.enqueue(message("a"), limits));
        // Once a session's queue is empty it no longer counts.
        const claimed = await store.interrupts.claim("b", T0);
        await store.interrupts.settle(claimed!.id, { status: "applied", at: T0 });
        accepted(await store.interrupts.enqueue(message("c"), limits));
      });

      it("never exceeds the bound under concurrent enqueues", async () => {
        const limits = { maxQueueSize: 100, maxSessions: 10 };
        const results = await Promise.all(
          Array.from({ length: 500 }, () => store.interrupts.enqueue(message("s1"), limits)),
        );
        const ok = results.filter((r) => r.ok);
        expect(ok).toHaveLength(100);
        expect(results.filter((r) => !r.ok && r.reason === "queue_full")).toHaveLength(400);
        const page = await store.interrupts.list("s1", { limit: 500 });
        expect(page.total).toBe(100);
        expect(new Set(page.items.map((r) => r.seq)).size).toBe(100);
        expect(new Set(page.items.map((r) => r.id)).size).toBe(100);
      });

      it("rejects an id that is already queued or in flight", async () => {
        await store.interrupts.enqueue(message("s1", { id: "dup" }), WIDE);
        await expect(store.interrupts.enqueue(message("s2", { id: "dup" }), WIDE)).rejects.toThrow(
          TrellisError,
        );
        await store.interrupts.claim("s1", T0);
        await expect(store.interrupts.enqueue(message("s1", { id: "dup" }), WIDE)).rejects.toThrow(
          TrellisError,
        );
      });

      it("settles claimed and queued messages once, counting outcomes and decision times", async () => {
        const a = accepted(await store.interrupts.enqueue(message("s1"), WIDE));
        const b = accepted(
          await store.interrupts.enqueue(message("s1", { queuedAt: T0 + 50 }), WIDE),
        );
        await store.interrupts.claim("s1", T0);
        expect((await store.interrupts.settle(a.id, { status: "applied", at: T0 + 100 }))?.id).toBe(
          a.id,
        );
        // A queued message can be settled without being claimed.
        expect((await store.interrupts.settle(b.id, { status: "refused", at: T0 + 350 }))?.id).toBe(
          b.id,
        );
        expect(
          await store.interrupts.settle(a.id, { status: "applied", at: T0 + 400 }),
        ).toBeUndefined();
        expect(
          await store.interrupts.settle("unknown", { status: "applied", at: T0 }),
        ).toBeUndefined();
        expect(await store.interrupts.stats("s1")).toEqual({
          queued: 2,
          applied: 1,
          refused: 1,
          expired: 0,
          cleared: 0,
          depth: 0,
          inFlight: 0,
          totalDecisionMs: 400,
          maxDecisionMs: 300,
        });
      });

      it("pages through the queue without claiming", async () => {
        for (let i = 0; i < 120; i++) await store.interrupts.enqueue(message("s1"), WIDE);
        const first = await store.interrupts.list("s1");
        expect(first.items).toHaveLength(50);
        expect(first.total).toBe(120);
        const last = await store.interrupts.list("s1", { offset: 100, limit: 50 });
        expect(last.items.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 101 + i));
        expect((await store.interrupts.list("s1", { offset: 500 })).items).toEqual([]);
        expect((await store.interrupts.list("s1", { limit: 500 })).items).toHaveLength(120);
        expect((await store.interrupts.stats("s1")).depth).toBe(120);
        await expect(store.interrupts.list("s1", { limit: 501 })).rejects.toThrow(
          InvalidOptionError,
        );
        await expect(store.interrupts.list("s1", { offset: -1 })).rejects.toThrow(
          InvalidOptionError,
        );
        expect(await store.interrupts.list("nobody")).toEqual({ items: [], total: 0 });
      });

      it("reports zeros for a session it has never seen", async () => {
        expect(await store.interrupts.stats("nobody")).toEqual({
          queued: 0,
          applied: 0,
          refused: 0,
          expired: 0,
          cleared: 0,
          depth: 0,
          inFlight: 0,
          totalDecisionMs: 0,
          maxDecisionMs: 0,
        });
      });

      it("removes expired messages of one session or of all, counting them", async () => {
        await store.interrupts.enqueue(message("a", { ttl: 10 }), WIDE);
        await store.interrupts.enqueue(message("a", { ttl: 1000 }), WIDE);
        await store.interrupts.enqueue(message("b", { ttl: 10 }), WIDE);
        const fromA = await store.interrupts.remove({
          reason: "expired",
          now: T0 + 10,
          sessionId: "a",
        });
        expect(fromA.map((r) => r.sessionId)).toEqual(["a"]);
        expect((await store.interrupts.stats("b")).depth).toBe(1);
        const fromAll = await store.interrupts.remove({ reason: "expired", now: T0 + 10 });
        expect(fromAll.map((r) => r.sessionId)).toEqual(["b"]);
        expect(await store.interrupts.stats("a")).toMatchObject({ expired: 1, depth: 1 });
        expect(await store.interrupts.stats("b")).toMatchObject({ expired: 1, depth: 0 });
        // A session emptied by expiry no longer counts against maxSessions.
        accepted(
          await store.interrupts.enqueue(message("c"), { maxQueueSize: 10, maxSessions: 2 }),
        );
      });

      it("clears queued messages but leaves claimed ones to be settled", async () => {
        const claimedFirst = accepted(await store.interrupts.enqueue(message("s1"), WIDE));
        await store.interrupts.enqueue(message("s1"), WIDE);
        await store.interrupts.enqueue(message("s1"), WIDE);
        await store.interrupts.claim("s1", T0);
        const cleared = await store.interrupts.remove({ reason: "cleared", sessionId: "s1" });
        expect(cleared).toHaveLength(2);
        expect(await store.interrupts.stats("s1")).toMatchObject({
          queued: 3,
          cleared: 2,
          depth: 0,
          inFlight: 1,
        });
        expect(
          await store.interrupts.settle(claimedFirst.id, { status: "applied", at: T0 }),
        ).toBeDefined();
        expect(await store.interrupts.remove({ reason: "cleared", sessionId: "nobody" })).toEqual(
          [],
        );
      });

      it("deletes a session: queued and claimed messages, counters and sequence", async () => {
        const claimed = accepted(await store.interrupts.enqueue(message("s1"), WIDE));
        await store.interrupts.enqueue(message("s1"), WIDE);
        await store.interrupts.enqueue(message("other"), WIDE);
        await store.interrupts.claim("s1", T0);
        const removed = await store.interrupts.remove({ reason: "deleted", sessionId: "s1" });
        expect(removed).toHaveLength(2);
        expect(
          await store.interrupts.settle(claimed.id, { status: "applied", at: T0 }),
        ).toBeUndefined();
        expect((await store.interrupts.stats("s1")).queued).toBe(0);
        expect((await store.interrupts.stats("other")).depth).toBe(1);
        expect(accepted(await store.interrupts.enqueue(message("s1"), WIDE)).seq).toBe(1);
      });
    });

    describe("audit", () => {
      it("appends entries numbered from 1 per session and lists them oldest first", async () => {
        const firstSeq = await store.audit.append({
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
        const [first] = (await store.audit.list("s1")).items;
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
        await store.audit.append({ sessionId: "s2", at: T0, kind: "run.paused" });
        const secondSeq = await store.audit.append({
          sessionId: "s1",
          at: T0 + 1,
          kind: "run.resumed",
        });
        expect(secondSeq).toBe(2);
        const page = await store.audit.list("s1");
        expect(page.items[1]).not.toHaveProperty("data");
        expect(page.total).toBe(2);
        expect(page.items.map((e) => e.kind)).toEqual(["interrupt.received", "run.resumed"]);
      });

      it("pages through a session's entries", async () => {
        for (let i = 0; i < 75; i++) {
          await store.audit.append({ sessionId: "s1", at: T0 + i, kind: "custom.tick", data: i });
        }
        const first = await store.audit.list("s1");
        expect(first.items).toHaveLength(50);
        expect(first.total).toBe(75);
        const rest = await store.audit.list("s1", { offset: 60, limit: 10 });
        expect(rest.items.map((e) => e.data)).toEqual([60, 61, 62, 63, 64, 65, 66, 67, 68, 69]);
        expect(await store.audit.list("nobody")).toEqual({ items: [], total: 0 });
        await expect(store.audit.list("s1", { limit: 0 })).rejects.toThrow(InvalidOptionError);
      });

      it("keeps a JSON copy of data, unaffected by later changes", async () => {
        const data = { count: 1, when: new Date(T0) };
        await store.audit.append({ sessionId: "s1", at: T0, kind: "state.updated", data });
        data.count = 2;
        const [entry] = (await store.audit.list("s1")).items;
        expect(entry?.data).toEqual({ count: 1, when: new Date(T0).toISOString() });
      });

      it("refuses data that is not JSON", async () => {
        await expect(
          store.audit.append({ sessionId: "s1", at: T0, kind: "state.updated", data: 10n }),
        ).rejects.toThrow(InvalidOptionError);
        expect((await store.audit.list("s1")).total).toBe(0);
      });
    });
  });
}
