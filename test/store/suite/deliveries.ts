import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../../src/errors.js";
import type { NewDelivery } from "../../../src/store/delivery-store.js";
import type { Store } from "../../../src/store/store.js";
import { T0 } from "./fixtures.js";

const A = "https://a.example/hook";
const B = "https://b.example/hook";

function delivery(id: string, fields: Partial<NewDelivery> = {}): NewDelivery {
  return {
    id,
    url: A,
    type: "session.completed",
    sessionId: "s1",
    checkpointId: `cp-${id}`,
    body: JSON.stringify({ id, type: "session.completed" }),
    ...fields,
  };
}

const claim = (owner: string, now: number, fields: { urls?: string[]; limit?: number } = {}) => ({
  owner,
  urls: fields.urls ?? [A],
  limit: fields.limit ?? 10,
  now,
  until: now + 1_000,
});

const failed = (now: number, attempts: number, dueAt: number | null) => ({
  status: dueAt === null ? ("failed" as const) : ("pending" as const),
  attempts,
  lastError: "HTTP 503",
  lastStatus: 503,
  dueAt,
  now,
});

export function deliveryCases(store: () => Store): void {
  describe("deliveries", () => {
    it("adds a delivery once: an id stored before is left as it is, in any later batch", async () => {
      expect(await store().deliveries.add([delivery("d1"), delivery("d2")], T0)).toEqual([
        "d1",
        "d2",
      ]);
      expect(
        await store().deliveries.add(
          [delivery("d2", { body: "changed" }), delivery("d3"), delivery("d3")],
          T0 + 5,
        ),
      ).toEqual(["d3"]);
      const page = await store().deliveries.list();
      expect(page.total).toBe(3);
      expect(page.items.map((d) => d.id)).toEqual(["d3", "d2", "d1"]);
      expect(page.items[1]).toEqual({
        ...delivery("d2"),
        status: "pending",
        attempts: 0,
        lastError: null,
        lastStatus: null,
        createdAt: T0,
        updatedAt: T0,
        dueAt: T0,
      });
      expect(await store().deliveries.add([], T0)).toEqual([]);
    });

    it("claims the due deliveries of the given endpoints, longest due first, each for one owner until its claim runs out", async () => {
      await store().deliveries.add([delivery("d1"), delivery("d2")], T0);
      await store().deliveries.add([delivery("other", { url: B })], T0);
      await store().deliveries.add([delivery("later")], T0 + 100);
      // Not due yet at T0 + 50; `other` goes to another endpoint.
      const first = await store().deliveries.claim(claim("one", T0 + 50));
      expect(first.map((d) => d.id)).toEqual(["d1", "d2"]);
      // Claimed by `one` until T0 + 1050: nobody else gets them before.
      expect((await store().deliveries.claim(claim("two", T0 + 200))).map((d) => d.id)).toEqual([
        "later",
      ]);
      expect(await store().deliveries.claim(claim("two", T0 + 1_049))).toEqual([]);
      // Past the claim, another owner takes them over, and the first can no longer record.
      expect((await store().deliveries.claim(claim("two", T0 + 1_050))).map((d) => d.id)).toEqual([
        "d1",
        "d2",
      ]);
      expect(await store().deliveries.record("d1", "one", failed(T0 + 1_060, 1, T0 + 2_000))).toBe(
        false,
      );
      expect(await store().deliveries.record("d1", "two", failed(T0 + 1_060, 1, T0 + 2_000))).toBe(
        true,
      );
      expect(
        (await store().deliveries.claim(claim("three", T0, { urls: [A, B], limit: 1 }))).map(
          (d) => d.id,
        ),
      ).toEqual(["other"]);
    });

    it("records an attempt: a retry is due again later, a delivered or failed one is never claimed again", async () => {
      await store().deliveries.add([delivery("d1"), delivery("d2"), delivery("d3")], T0);
      await store().deliveries.claim(claim("one", T0));
      expect(await store().deliveries.record("d1", "one", failed(T0 + 10, 1, T0 + 500))).toBe(true);
      expect(
        await store().deliveries.record("d2", "one", {
          status: "delivered",
          attempts: 1,
          lastError: null,
          lastStatus: 204,
          dueAt: T0 + 99,
          now: T0 + 20,
        }),
      ).toBe(true);
      expect(await store().deliveries.record("d3", "one", failed(T0 + 30, 5, null))).toBe(true);
      // Recorded once: the claim ended with it.
      expect(await store().deliveries.record("d2", "one", failed(T0 + 40, 2, T0 + 50))).toBe(false);
      const byId = new Map((await store().deliveries.list()).items.map((d) => [d.id, d]));
      expect(byId.get("d1")).toMatchObject({
        status: "pending",
        attempts: 1,
        lastError: "HTTP 503",
        lastStatus: 503,
        updatedAt: T0 + 10,
        dueAt: T0 + 500,
        createdAt: T0,
      });
      expect(byId.get("d2")).toMatchObject({ status: "delivered", lastStatus: 204, dueAt: null });
      expect(byId.get("d3")).toMatchObject({ status: "failed", attempts: 5, dueAt: null });
      expect(await store().deliveries.claim(claim("two", T0 + 499))).toEqual([]);
      const again = await store().deliveries.claim(claim("two", T0 + 500));
      expect(again.map((d) => [d.id, d.attempts])).toEqual([["d1", 1]]);
      expect(await store().deliveries.record("missing", "two", failed(T0, 1, null))).toBe(false);
    });

    it("tells when the next pending delivery can be claimed: when it is due, or when its claim runs out", async () => {
      expect(await store().deliveries.nextDue([A])).toBeUndefined();
      await store().deliveries.add([delivery("d1")], T0 + 300);
      await store().deliveries.add([delivery("d2"), delivery("b", { url: B })], T0 + 100);
      expect(await store().deliveries.nextDue([A])).toBe(T0 + 100);
      expect(await store().deliveries.nextDue([B])).toBe(T0 + 100);
      expect(await store().deliveries.nextDue([])).toBeUndefined();
      await store().deliveries.claim(claim("one", T0 + 200));
      // d2 is claimed until T0 + 1200; d1 is due at T0 + 300.
      expect(await store().deliveries.nextDue([A])).toBe(T0 + 300);
      await store().deliveries.record("d2", "one", failed(T0 + 200, 1, null));
      await store().deliveries.claim(claim("one", T0 + 300));
      expect(await store().deliveries.nextDue([A])).toBe(T0 + 1_300);
    });

    it("prunes delivered and failed deliveries but the newest `keep`, never a pending one", async () => {
      const ids = ["d1", "d2", "d3", "d4", "d5"];
      await store().deliveries.add(
        ids.map((id) => delivery(id)),
        T0,
      );
      await store().deliveries.claim(claim("one", T0));
      for (const id of ["d1", "d2", "d4", "d5"]) {
        await store().deliveries.record(id, "one", failed(T0 + 1, 5, null));
      }
      expect(await store().deliveries.prune({ keep: 2 })).toBe(2);
      expect((await store().deliveries.list()).items.map((d) => d.id)).toEqual(["d5", "d4", "d3"]);
      expect(await store().deliveries.prune({ keep: 2 })).toBe(0);
      expect(await store().deliveries.prune({ keep: 0 })).toBe(2);
      expect((await store().deliveries.list()).items.map((d) => d.id)).toEqual(["d3"]);
      await expect(store().deliveries.prune({ keep: -1 })).rejects.toThrow(InvalidOptionError);
      await expect(store().deliveries.prune({ keep: 1.5 })).rejects.toThrow(InvalidOptionError);
    });

    it("pages the list newest first", async () => {
      for (let i = 1; i <= 7; i++) await store().deliveries.add([delivery(`d${i}`)], T0 + i);
      const page = await store().deliveries.list({ offset: 2, limit: 3 });
      expect(page.total).toBe(7);
      expect(page.items.map((d) => d.id)).toEqual(["d5", "d4", "d3"]);
      expect((await store().deliveries.list({ offset: 9 })).items).toEqual([]);
      await expect(store().deliveries.list({ limit: 0 })).rejects.toThrow(InvalidOptionError);
    });

    it("deletes a session's deliveries with the session, and only its own", async () => {
      await store().deliveries.add(
        [delivery("d1"), delivery("d2", { sessionId: "s2" }), delivery("d3")],
        T0,
      );
      await store().sessions.delete("s1", { now: T0 + 1 });
      expect((await store().deliveries.list()).items.map((d) => d.id)).toEqual(["d2"]);
    });

    it("keeps ids and sessions named like Object's own properties apart", async () => {
      await store().deliveries.add(
        [
          delivery("constructor", { sessionId: "__proto__" }),
          delivery("__proto__", { sessionId: "constructor" }),
        ],
        T0,
      );
      expect(await store().deliveries.add([delivery("constructor")], T0)).toEqual([]);
      const claimed = await store().deliveries.claim(claim("toString", T0));
      expect(claimed.map((d) => [d.id, d.sessionId])).toEqual([
        ["constructor", "__proto__"],
        ["__proto__", "constructor"],
      ]);
      await store().sessions.delete("__proto__", { now: T0 });
      expect((await store().deliveries.list()).items.map((d) => d.id)).toEqual(["__proto__"]);
    });

    it("refuses a delivery with a missing field, and a claim with a wrong limit, writing nothing", async () => {
      await expect(
        store().deliveries.add([delivery("ok"), delivery("bad", { url: "" })], T0),
      ).rejects.toThrow(/deliveries\[1\]\.url/);
      await expect(
        store().deliveries.add([{ ...delivery("bad"), body: undefined as unknown as string }], T0),
      ).rejects.toThrow(InvalidOptionError);
      expect((await store().deliveries.list()).total).toBe(0);
      await expect(store().deliveries.claim(claim("one", T0, { limit: 0 }))).rejects.toThrow(
        InvalidOptionError,
      );
      // A retry without a time, or an unknown status, is refused and the claim stays.
      await store().deliveries.add([delivery("d1")], T0);
      await store().deliveries.claim(claim("one", T0));
      await expect(
        store().deliveries.record("d1", "one", { ...failed(T0, 1, T0), dueAt: null }),
      ).rejects.toThrow(/dueAt/);
      await expect(
        store().deliveries.record("d1", "one", {
          ...failed(T0, 1, T0),
          status: "lost" as "failed",
        }),
      ).rejects.toThrow(/status/);
      expect(await store().deliveries.record("d1", "one", failed(T0, 1, T0 + 5))).toBe(true);
    });
  });
}
