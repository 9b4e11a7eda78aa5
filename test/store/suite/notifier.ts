import { afterEach, describe, expect, it } from "vitest";
import type { StoreEvent } from "../../../src/store/notifier.js";
import type { Store } from "../../../src/store/store.js";
import { checkpoint, enqueue, eventually, GATE, lease, message, T0 } from "./fixtures.js";

export function notifierCases(store: () => Store): void {
  describe("notifier", () => {
    const stops: (() => void)[] = [];
    afterEach(() => {
      for (const stop of stops.splice(0)) stop();
    });
    const listen = (sessionId: string | null): StoreEvent[] => {
      const events: StoreEvent[] = [];
      stops.push(store().notifier.subscribe(sessionId, (event) => events.push(event)));
      return events;
    };

    it("tells a session's listeners what was queued, settled and checkpointed, and when it was released", async () => {
      const events = listen("s1");
      const other = listen("other");
      const action = await store().interrupts.enqueue(
        { ...message("s1", { priority: 0 }), kind: "action", action: { type: "cancel" } },
        { maxQueueSize: 10, maxSessions: 10 },
        { sessionId: "s1", at: T0, kind: "interrupt.received" },
      );
      const text = await enqueue(store(), message("s1"));
      const held = await lease(store(), "s1");
      await store().commit({
        lease: held,
        checkpoints: [checkpoint("s1", 1), checkpoint("s1", 1, { thread: "child" })],
        settle: [
          {
            id: text.id,
            outcome: { status: "applied", action: { type: "continue" }, appliedAt: T0 },
          },
        ],
        now: T0,
      });
      await store().sessions.release(held);
      const cancelId = action.ok ? action.record.id : "";
      await eventually(() =>
        expect(events).toEqual([
          { kind: "queued", sessionId: "s1", id: cancelId, priority: 0, action: "cancel" },
          { kind: "queued", sessionId: "s1", id: text.id, priority: 2 },
          expect.objectContaining({ kind: "settled", sessionId: "s1", id: text.id }),
          { kind: "checkpoint", sessionId: "s1", thread: "", id: "s1|#1", status: "running" },
          { kind: "released", sessionId: "s1" },
        ]),
      );
      expect(other).toEqual([]);
    });

    it("keeps the summary as a run's one-checkpoint commits change status, gate or graph, and tells listeners of every checkpoint of the own thread, in commit order", async () => {
      const events = listen("s1");
      const held = await lease(store(), "s1");
      const step = async (seq: number, fields: Parameters<typeof checkpoint>[2] = {}) => {
        await store().commit({
          lease: held,
          checkpoints: [checkpoint("s1", seq, fields)],
          now: T0,
        });
        return store().sessions.get("s1");
      };
      expect(await step(1, { meta: { v: 1, graph: "review" } })).toMatchObject({
        status: "running",
        graph: "review",
        checkpointId: "s1|#1",
      });
      expect(await step(2)).toMatchObject({
        status: "running",
        graph: "review",
        checkpointId: "s1|#2",
      });
      expect(await step(3, { meta: { v: 1, graph: "review" } })).toMatchObject({
        status: "running",
        checkpointId: "s1|#3",
      });
      expect(await step(1, { thread: "child", status: "failed" })).toMatchObject({
        status: "running",
        checkpointId: "s1|#3",
      });
      expect(await step(4, { status: "paused", meta: { v: 1, gate: GATE } })).toMatchObject({
        status: "paused",
        gate: GATE,
      });
      expect(await step(5, { meta: { v: 1, graph: "other" } })).toMatchObject({
        status: "running",
        graph: "other",
      });
      const done = await step(6, { status: "completed" });
      expect(done).toMatchObject({ status: "completed", graph: "other", checkpointId: "s1|#6" });
      expect(done).not.toHaveProperty("gate");
      await eventually(() =>
        expect(
          events.map((e) => (e.kind === "checkpoint" ? `${e.id} ${e.status}` : e.kind)),
        ).toEqual([
          "s1|#1 running",
          "s1|#2 running",
          "s1|#3 running",
          "s1|#4 paused",
          "s1|#5 running",
          "s1|#6 completed",
        ]),
      );
    });
    it("tells listeners of every session with null, and about removed messages", async () => {
      const all = listen(null);
      const a = await enqueue(store(), message("a", { ttl: 1 }));
      await enqueue(store(), message("b"));
      await store().interrupts.remove({ reason: "expired", now: T0 + 1 });
      await eventually(() =>
        expect(all.map((e) => [e.kind, e.sessionId])).toEqual([
          ["queued", "a"],
          ["queued", "b"],
          ["settled", "a"],
        ]),
      );
      expect(all[2]).toMatchObject({ id: a.id });
    });

    it("stops telling a listener once it unsubscribed", async () => {
      const events: StoreEvent[] = [];
      const stop = store().notifier.subscribe("s1", (event) => events.push(event));
      await enqueue(store(), message("s1"));
      await eventually(() => expect(events).toHaveLength(1));
      stop();
      await enqueue(store(), message("s1"));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(events).toHaveLength(1);
    });

    it("keeps going when a listener throws", async () => {
      stops.push(
        store().notifier.subscribe("s1", () => {
          throw new Error("listener bug");
        }),
      );
      const events = listen("s1");
      await enqueue(store(), message("s1"));
      await eventually(() => expect(events).toHaveLength(1));
    });
  });
}
