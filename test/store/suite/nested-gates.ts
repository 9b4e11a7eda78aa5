import { afterEach, describe, expect, it } from "vitest";
import type { CheckpointMeta, GateMeta } from "../../../src/store/checkpoint-meta.js";
import type { StoreEvent } from "../../../src/store/notifier.js";
import type { Store } from "../../../src/store/store.js";
import { checkpoint, enqueue, eventually, GATE, lease, message, T0 } from "./fixtures.js";

/** A gate open inside the nested graph that runs as node `thread`. */
function nestedGate(thread: string, requestId = `${thread}-run.1`): GateMeta {
  return { ...GATE, requestId, node: `${thread}/check` };
}

const decided = (gate: GateMeta): CheckpointMeta["decision"] => ({
  requestId: gate.requestId,
  node: gate.node,
  revision: gate.revision,
  decision: "approve",
  by: "human",
});

const APPLIED = { status: "applied", action: { type: "approve" }, appliedAt: T0 } as const;

/** What the inbox shows of the sessions waiting for approval. */
async function waiting(store: Store): Promise<string[]> {
  return (await store.sessions.list({ waiting: "approval" })).items.map((s) => s.sessionId);
}

/** The summary's gate as a nested graph's checkpoints open and close it. */
export function nestedGateCases(store: () => Store): void {
  describe("nested graphs' gates in the summary", () => {
    const stops: (() => void)[] = [];
    afterEach(() => {
      for (const stop of stops.splice(0)) stop();
    });
    const child = (seq: number, fields: Parameters<typeof checkpoint>[2] = {}) =>
      checkpoint("s1", seq, { thread: "child", runId: "child-run", ...fields });
    /** The session's own thread: its input, then the nested node running. */
    const start = async () => {
      await store().commit({
        checkpoints: [
          checkpoint("s1", 1, { meta: { v: 1, graph: "outer" } }),
          checkpoint("s1", 2, { createdAt: T0 + 2 }),
        ],
        now: T0,
      });
    };

    it("shows a gate that opened inside a nested graph, and leaves the status, graph and checkpoint alone", async () => {
      await start();
      const gate = nestedGate("child");
      await store().commit({
        checkpoints: [child(1), child(2, { meta: { v: 1, gate }, createdAt: T0 + 10 })],
        now: T0 + 10,
      });
      expect(await store().sessions.get("s1")).toEqual({
        sessionId: "s1",
        graph: "outer",
        status: "running",
        checkpointId: "s1|#2",
        createdAt: T0 + 1,
        updatedAt: T0 + 10,
        gate,
      });
      expect(await waiting(store())).toEqual(["s1"]);
      expect((await store().sessions.list({ status: "running" })).items).toHaveLength(1);
    });

    it("takes the gate away when it is decided, and keeps it for another request's decision", async () => {
      await start();
      const gate = nestedGate("child");
      await store().commit({
        checkpoints: [child(1, { meta: { v: 1, gate }, createdAt: T0 + 10 })],
        now: T0,
      });
      await store().commit({
        checkpoints: [
          child(2, {
            meta: { v: 1, decision: decided(nestedGate("child", "child-run.0")) },
            createdAt: T0 + 11,
          }),
        ],
        now: T0,
      });
      expect((await store().sessions.get("s1"))?.gate).toEqual(gate);
      await store().commit({
        checkpoints: [child(3, { meta: { v: 1, decision: decided(gate) }, createdAt: T0 + 12 })],
        now: T0,
      });
      const summary = await store().sessions.get("s1");
      expect(summary).toMatchObject({
        status: "running",
        checkpointId: "s1|#2",
        updatedAt: T0 + 12,
      });
      expect(summary).not.toHaveProperty("gate");
      expect(await waiting(store())).toEqual([]);
      // The nested run going on changes nothing.
      await store().commit({ checkpoints: [child(4, { createdAt: T0 + 13 })], now: T0 });
      expect(await store().sessions.get("s1")).toEqual(summary);
    });

    it("takes a decision that comes with the message it settled", async () => {
      await start();
      const gate = nestedGate("child");
      const held = await lease(store(), "s1");
      await store().commit({
        lease: held,
        checkpoints: [child(1, { meta: { v: 1, gate }, createdAt: T0 + 10 })],
        audit: [{ sessionId: "s1", at: T0 + 10, kind: "approval.requested" }],
        now: T0 + 10,
      });
      expect(await waiting(store())).toEqual(["s1"]);
      const approve = await enqueue(store(), message("s1"));
      await store().commit({
        lease: held,
        checkpoints: [child(2, { meta: { v: 1, decision: decided(gate) }, createdAt: T0 + 20 })],
        settle: [{ id: approve.id, outcome: APPLIED }],
        audit: [{ sessionId: "s1", at: T0 + 20, kind: "approval.decided" }],
        now: T0 + 20,
      });
      expect(await store().sessions.get("s1")).not.toHaveProperty("gate");
      expect((await store().interrupts.get(approve.id))?.state).toBe("applied");
      expect((await store().audit.list("s1")).items.map((e) => e.kind)).toEqual([
        "approval.requested",
        "interrupt.received",
        "approval.decided",
      ]);
    });

    it("lets the next checkpoint of the session's own thread set the gate, but not one that only saves progress", async () => {
      await start();
      const gate = nestedGate("child");
      const held = await lease(store(), "s1");
      await store().commit({
        lease: held,
        checkpoints: [child(1, { meta: { v: 1, gate }, createdAt: T0 + 10 })],
        now: T0,
      });
      // A parallel branch beside the nested graph finished: the group saves its progress.
      const progress = { v: 1 as const, progress: { node: "group", data: { branch: "b" } } };
      await store().commit({
        lease: held,
        checkpoints: [checkpoint("s1", 3, { meta: progress, createdAt: T0 + 11 })],
        now: T0,
      });
      expect(await store().sessions.get("s1")).toMatchObject({
        status: "running",
        checkpointId: "s1|#3",
        updatedAt: T0 + 11,
        gate,
      });
      // The run's next checkpoint of its own thread says what is open: here, nothing.
      await store().commit({
        lease: held,
        checkpoints: [checkpoint("s1", 4, { createdAt: T0 + 12 })],
        now: T0,
      });
      const after = await store().sessions.get("s1");
      expect(after).toMatchObject({ status: "running", checkpointId: "s1|#4" });
      expect(after).not.toHaveProperty("gate");
      // A cancel ends both runs: the nested one's end closes its gate, the session's own says the rest.
      await store().commit({
        lease: held,
        checkpoints: [child(2, { meta: { v: 1, gate: nestedGate("child", "child-run.2") } })],
        now: T0,
      });
      await store().commit({
        lease: held,
        checkpoints: [checkpoint("s1", 5, { meta: progress, createdAt: T0 + 14 })],
        now: T0,
      });
      expect(await waiting(store())).toEqual(["s1"]);
      await store().commit({
        lease: held,
        checkpoints: [checkpoint("s1", 6, { status: "cancelled", meta: progress })],
        now: T0,
      });
      expect(await store().sessions.get("s1")).not.toHaveProperty("gate");
      expect(await waiting(store())).toEqual([]);
    });

    it("keeps the gate a suspended run showed when the resumed run's first checkpoint only saves progress", async () => {
      await start();
      const gate = nestedGate("child");
      const held = await lease(store(), "s1");
      // The nested graph suspended at its gate, and with it the session's own run.
      await store().commit({
        lease: held,
        checkpoints: [child(1, { status: "paused", meta: { v: 1, gate } })],
        now: T0,
      });
      await store().commit({
        lease: held,
        checkpoints: [checkpoint("s1", 3, { status: "paused", meta: { v: 1, gate } })],
        now: T0,
      });
      // Resumed, the run goes back into the nested graph, which saves the run it continues.
      const progress = { v: 1 as const, progress: { node: "child", data: { childRunId: "x" } } };
      await store().commit({
        lease: held,
        checkpoints: [checkpoint("s1", 4, { meta: progress })],
        now: T0,
      });
      expect(await store().sessions.get("s1")).toMatchObject({
        status: "running",
        checkpointId: "s1|#4",
        gate,
      });
      expect(await waiting(store())).toEqual(["s1"]);
    });

    it("applies a batch's checkpoints in order, whichever thread each belongs to", async () => {
      await start();
      const gate = nestedGate("child");
      const own = { ...GATE, requestId: "own-run.7" };
      await store().commit({
        checkpoints: [
          child(1, { meta: { v: 1, gate } }),
          checkpoint("s1", 3, { meta: { v: 1, gate: own } }),
        ],
        now: T0,
      });
      expect((await store().sessions.get("s1"))?.gate).toEqual(own);
      await store().commit({
        checkpoints: [checkpoint("s1", 4), child(2, { meta: { v: 1, gate } })],
        now: T0,
      });
      expect((await store().sessions.get("s1"))?.gate).toEqual(gate);
      const progress = { v: 1 as const, progress: { node: "child", data: { childRunId: "x" } } };
      await store().commit({
        checkpoints: [
          child(3, { meta: { v: 1, decision: decided(gate) } }),
          checkpoint("s1", 5, { meta: progress }),
          child(4, { meta: { v: 1, gate: nestedGate("child", "child-run.4") } }),
          checkpoint("s1", 6, { meta: progress }),
        ],
        now: T0,
      });
      expect(await store().sessions.get("s1")).toMatchObject({
        checkpointId: "s1|#6",
        gate: nestedGate("child", "child-run.4"),
      });
      await store().commit({
        checkpoints: [
          checkpoint("s1", 7, { meta: progress }),
          checkpoint("s1", 8, { meta: progress }),
        ],
        now: T0,
      });
      expect(await store().sessions.get("s1")).toMatchObject({
        checkpointId: "s1|#8",
        gate: nestedGate("child", "child-run.4"),
      });
      await store().commit({
        checkpoints: [
          checkpoint("s1", 9, { meta: { v: 1, gate: own } }),
          checkpoint("s1", 10, { meta: progress }),
        ],
        now: T0,
      });
      expect(await store().sessions.get("s1")).toMatchObject({ checkpointId: "s1|#10", gate: own });
    });

    it("closes a nested graph's gate when its run ends without a decision", async () => {
      await start();
      const inner = { ...GATE, requestId: "inner-run.1", node: "child/inner/check" };
      await store().commit({
        checkpoints: [child(1, { meta: { v: 1, gate: inner }, createdAt: T0 + 10 })],
        now: T0,
      });
      // A run ending in another thread, even one named like it, leaves it open.
      await store().commit({
        checkpoints: [checkpoint("s1", 1, { thread: "chi", status: "failed" })],
        now: T0,
      });
      expect((await store().sessions.get("s1"))?.gate).toEqual(inner);
      await store().commit({
        checkpoints: [child(2, { status: "cancelled", createdAt: T0 + 11 })],
        now: T0,
      });
      expect(await store().sessions.get("s1")).not.toHaveProperty("gate");
      expect(await store().sessions.get("s1")).toMatchObject({ status: "running" });
    });

    it("changes nothing before the session has a summary", async () => {
      await store().commit({
        checkpoints: [child(1, { meta: { v: 1, gate: nestedGate("child") } })],
        now: T0,
      });
      expect(await store().sessions.get("s1")).toBeUndefined();
      expect(await waiting(store())).toEqual([]);
    });

    it("tells of a nested decision before the session has a summary, and writes none", async () => {
      const events: StoreEvent[] = [];
      stops.push(store().notifier.subscribe("s1", (event) => events.push(event)));
      const gate = nestedGate("child");
      await store().commit({
        checkpoints: [child(1, { meta: { v: 1, gate } })],
        now: T0,
      });
      await store().commit({
        checkpoints: [child(2, { meta: { v: 1, decision: decided(gate) } })],
        now: T0,
      });
      await eventually(() =>
        expect(events.map((e) => (e.kind === "checkpoint" ? e.id : e.kind))).toEqual([
          "s1|child#2",
        ]),
      );
      expect(await store().sessions.get("s1")).toBeUndefined();
    });

    it("lists sessions waiting in a nested graph by when the gate opened", async () => {
      await store().commit({
        checkpoints: [
          checkpoint("a", 1, { status: "paused", meta: { v: 1, gate: GATE }, createdAt: T0 + 20 }),
        ],
        now: T0,
      });
      await start();
      await store().commit({
        checkpoints: [child(1, { meta: { v: 1, gate: nestedGate("child") }, createdAt: T0 + 50 })],
        now: T0,
      });
      expect(await waiting(store())).toEqual(["s1", "a"]);
    });

    it("tells listeners of the nested checkpoints that open, close or decide a gate, and of no other", async () => {
      const events: StoreEvent[] = [];
      stops.push(store().notifier.subscribe("s1", (event) => events.push(event)));
      await start();
      const gate = nestedGate("child");
      const held = await lease(store(), "s1");
      const step = (seq: number, fields: Parameters<typeof checkpoint>[2] = {}) =>
        store().commit({ lease: held, checkpoints: [child(seq, fields)], now: T0 });
      await step(1);
      await step(2, { meta: { v: 1, gate } });
      await step(3, { meta: { v: 1, decision: decided(nestedGate("child", "other.1")) } });
      await step(4, { meta: { v: 1, decision: decided(gate) } });
      await step(5, { status: "completed" });
      await eventually(() =>
        expect(
          events.map((e) =>
            e.kind === "checkpoint" ? `${e.thread || "own"} ${e.id} ${e.status}` : e.kind,
          ),
        ).toEqual([
          "own s1|#1 running",
          "own s1|#2 running",
          "child s1|child#2 running",
          // The decision of a gate the summary does not show (another one opened after it).
          "child s1|child#3 running",
          "child s1|child#4 running",
        ]),
      );
    });

    it("treats sessions and threads named like prototype members as any other", async () => {
      for (const name of ["constructor", "__proto__"]) {
        const gate = nestedGate(name);
        await store().commit({
          checkpoints: [checkpoint(name, 1, { meta: { v: 1, graph: "outer" } })],
          now: T0,
        });
        const held = await lease(store(), name);
        await store().commit({
          lease: held,
          checkpoints: [checkpoint(name, 1, { thread: name, meta: { v: 1, gate } })],
          now: T0,
        });
        expect((await store().sessions.get(name))?.gate, name).toEqual(gate);
        await store().commit({
          lease: held,
          checkpoints: [
            checkpoint(name, 2, { thread: name, meta: { v: 1, decision: decided(gate) } }),
          ],
          now: T0,
        });
        expect(await store().sessions.get(name), name).not.toHaveProperty("gate");
        await store().commit({
          lease: held,
          checkpoints: [checkpoint(name, 3, { thread: name, meta: { v: 1, gate } })],
          now: T0,
        });
        await store().commit({
          lease: held,
          checkpoints: [checkpoint(name, 4, { thread: name, status: "cancelled" })],
          now: T0,
        });
        expect(await store().sessions.get(name), name).toMatchObject({
          status: "running",
          graph: "outer",
        });
        expect(await store().sessions.get(name), name).not.toHaveProperty("gate");
      }
      expect(Object.keys(Object.prototype)).toEqual([]);
    });
  });
}
