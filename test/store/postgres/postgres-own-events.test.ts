import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LeaseLostError } from "../../../src/errors.js";
import type { StoreEvent } from "../../../src/store/notifier.js";
import type { PostgresStore } from "../../../src/store/postgres/postgres-store.js";
import { checkpoint, enqueue, eventually, lease, message, T0, WIDE } from "../suite/fixtures.js";
import { connect, dropSchema, testSchema } from "./test-database.js";

const schema = testSchema("own_events");
/** Two stores on one schema: what `a` writes, `b` hears only through LISTEN/NOTIFY. */
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

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

function listen(store: PostgresStore, sessionId: string): string[] {
  const heard: string[] = [];
  const describe = (e: StoreEvent) =>
    e.kind === "checkpoint" ? `${e.id} ${e.status}` : `${e.kind}${"id" in e ? ` ${e.id}` : ""}`;
  stops.push(store.notifier.subscribe(sessionId, (event) => heard.push(describe(event))));
  return heard;
}

/** Long enough for a notification, had one been sent, to reach the other store. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe("PostgresStore: the events of its own writes", () => {
  it("tells its own listeners of every running step once, as each commit returns; other stores only of summary changes", async () => {
    const own = listen(a, "steps");
    const other = listen(b, "steps");
    const held = await lease(a, "steps");
    const statuses = ["running", "running", "running", "paused", "running"] as const;
    const expected: string[] = [];
    for (const [i, status] of statuses.entries()) {
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("steps", i + 1, { status })],
        now: T0 + i,
      });
      expected.push(`steps|#${i + 1} ${status}`);
      expect(own).toEqual(expected);
    }
    await a.sessions.release(held);
    expect(own).toEqual([...expected, "released"]);
    await eventually(() =>
      expect(other).toEqual([
        "steps|#1 running",
        "steps|#4 paused",
        "steps|#5 running",
        "released",
      ]),
    );
    await settle();
    expect(own).toEqual([...expected, "released"]);
    expect(other).toHaveLength(4);
  });

  it("tells its own listeners of queued, settled and removed messages once, and hears another store's", async () => {
    const own = listen(a, "inbox");
    const other = listen(b, "inbox");
    const first = await enqueue(a, message("inbox"));
    expect(own).toEqual([`queued ${first.id}`]);
    const second = await enqueue(b, message("inbox"));
    // Heard through LISTEN: it may arrive after what this store writes next, so wait for it.
    await eventually(() => expect(own).toEqual([`queued ${first.id}`, `queued ${second.id}`]));
    const held = await lease(a, "inbox");
    await a.commit({
      lease: held,
      checkpoints: [checkpoint("inbox", 1, { status: "paused" })],
      settle: [
        {
          id: first.id,
          outcome: { status: "applied", action: { type: "continue" }, appliedAt: T0 },
        },
      ],
      now: T0,
    });
    expect(own.slice(-2)).toEqual([`settled ${first.id}`, "inbox|#1 paused"]);
    await a.interrupts.remove({ reason: "cleared", now: T0, sessionId: "inbox" });
    expect(own.at(-1)).toBe(`settled ${second.id}`);
    const third = await enqueue(a, message("inbox"));
    await a.sessions.release(held);
    await a.sessions.delete("inbox", { now: T0 });
    expect(own.slice(-3)).toEqual([`queued ${third.id}`, "released", `settled ${third.id}`]);
    const all = [
      `queued ${first.id}`,
      `queued ${second.id}`,
      `settled ${first.id}`,
      "inbox|#1 paused",
      `settled ${second.id}`,
      `queued ${third.id}`,
      "released",
      `settled ${third.id}`,
    ];
    await eventually(() => expect(other).toEqual(all));
    await settle();
    expect(own).toEqual(all);
    expect(other).toEqual(all);
  });

  it("tells no one of a write that failed or was refused", async () => {
    const own = listen(a, "lost");
    const other = listen(b, "lost");
    const held = await lease(a, "lost");
    const queued = await enqueue(a, message("lost"));
    own.length = 0;
    await eventually(() => expect(other).toEqual([`queued ${queued.id}`]));
    other.length = 0;
    const stale = { ...held, token: "stale" };
    await expect(
      a.commit({ lease: stale, checkpoints: [checkpoint("lost", 1)], now: T0 }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      a.commit({
        lease: stale,
        checkpoints: [checkpoint("lost", 1, { status: "paused" })],
        settle: [
          {
            id: queued.id,
            outcome: { status: "applied", action: { type: "continue" }, appliedAt: T0 },
          },
        ],
        now: T0,
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    const full = await a.interrupts.enqueue(
      message("lost"),
      { ...WIDE, maxQueueSize: 1 },
      { sessionId: "lost", at: T0, kind: "interrupt.received" },
    );
    expect(full.ok).toBe(false);
    await a.sessions.release(stale);
    await settle();
    expect(own).toEqual([]);
    expect(other).toEqual([]);
  });
});
