import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseLostError } from "../../../src/errors.js";
import type { StoreEvent } from "../../../src/store/notifier.js";
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
import { connect, dropSchema, testSchema } from "./test-database.js";

const schema = testSchema("shared");
let a: PostgresStore;
let b: PostgresStore;

beforeAll(async () => {
  a = await connect(schema);
  b = await connect(schema);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await dropSchema(schema);
});

describe("two PostgresStores over one schema", () => {
  it("see each other's writes and events", async () => {
    const events: StoreEvent[] = [];
    const stop = b.notifier.subscribe("s1", (event) => events.push(event));
    const m = await enqueue(a, message("s1"));
    await a.commit({ checkpoints: [checkpoint("s1", 1)], now: T0 });
    expect((await b.checkpoints.latest("s1", ""))?.id).toBe("s1|#1");
    expect((await b.interrupts.claim("s1", { now: T0, owner: "b" }))?.id).toBe(m.id);
    await eventually(() => expect(events.map((e) => e.kind)).toEqual(["queued", "checkpoint"]));
    stop();
  });

  it("fence each other with the lease", async () => {
    const held = await lease(a, "s2", { ttlMs: 1_000 });
    expect((await b.sessions.acquire(leaseRequest("s2", { now: T0 + 999 }))).ok).toBe(false);
    const taken = await lease(b, "s2", { now: T0 + 1_000 });
    await expect(
      a.commit({ lease: held, checkpoints: [checkpoint("s2", 1)], now: T0 + 1_001 }),
    ).rejects.toThrow(LeaseLostError);
    await b.commit({ lease: taken, checkpoints: [checkpoint("s2", 1)], now: T0 + 1_001 });
    expect((await a.checkpoints.latest("s2", ""))?.id).toBe("s2|#1");
  });

  it("free a closed store's leases at once, and requeue its claimed messages", async () => {
    const c = await connect(schema);
    const held = await lease(c, "s3", { ttlMs: 600_000 });
    await enqueue(c, message("s3"));
    await c.interrupts.claim("s3", { now: T0, owner: held.token });
    expect((await a.sessions.acquire(leaseRequest("s3", { now: T0 + 1 }))).ok).toBe(false);
    await c.close();
    await eventually(async () =>
      expect((await a.sessions.acquire(leaseRequest("s3", { now: T0 + 2 }))).ok).toBe(true),
    );
    expect(await a.interrupts.stats("s3")).toMatchObject({ depth: 1, inFlight: 0 });
  });
});

describe("two PostgresStores claiming webhook deliveries at once", () => {
  it("never hand one delivery to both, and between them take every due one", async () => {
    const url = "https://hooks.example/a";
    const ids = Array.from({ length: 60 }, (_, i) => `shared-d${i}`);
    await a.deliveries.add(
      ids.map((id) => ({
        id,
        url,
        type: "session.completed",
        sessionId: "s9",
        checkpointId: "c",
        body: "{}",
      })),
      T0,
    );
    const claimed: string[][] = [[], []];
    await Promise.all(
      [a, b].map(async (store, which) => {
        for (let round = 0; round < 12; round++) {
          const got = await store.deliveries.claim({
            owner: `owner-${which}`,
            urls: [url],
            limit: 3,
            now: T0,
            until: T0 + 60_000,
          });
          claimed[which]!.push(...got.map((d) => d.id));
        }
      }),
    );
    const all = [...claimed[0]!, ...claimed[1]!];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual([...ids].sort());
    expect(claimed[0]!.length).toBeGreaterThan(0);
    expect(claimed[1]!.length).toBeGreaterThan(0);
  });
});
