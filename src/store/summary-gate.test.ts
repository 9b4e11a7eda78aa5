import { describe, expect, it } from "vitest";
import { CHECKPOINT_META_VERSION, type CheckpointMeta, type GateMeta } from "./checkpoint-meta.js";
import type { CheckpointStatus } from "./checkpoint-store.js";
import { type GateRecord, gateEffect, isToldOf, sameGate, summaryGate } from "./summary-gate.js";

function gate(requestId: string, node: string): GateMeta {
  return {
    requestId,
    node,
    revision: 0,
    maxRevisions: 3,
    output: null,
    history: [],
    openedAt: 0,
    queueSeq: 0,
  };
}

function record(
  thread: string,
  meta: Omit<CheckpointMeta, "v"> = {},
  status: CheckpointStatus = "running",
): GateRecord {
  return { thread, status, meta: { v: CHECKPOINT_META_VERSION, ...meta } };
}

const decision = (requestId: string, node: string) =>
  ({ requestId, node, revision: 0, decision: "approve", by: "human" }) as const;

const ROOT = gate("run-1.2", "review");
const CHILD = gate("child-run.1", "child/review");

describe("the summary's gate", () => {
  it("is a checkpoint's own gate, or none, for the session's own thread", () => {
    expect(summaryGate(undefined, record("", { gate: ROOT }))).toBe(ROOT);
    expect(summaryGate(CHILD, record("", {}, "paused"))).toBeUndefined();
    expect(gateEffect(record("", {}))).toBe("own");
  });

  it("stays as it is through a checkpoint of the own thread that only saves progress", () => {
    const progress = record("", { progress: { node: "child", data: { childRunId: "x" } } });
    expect(gateEffect(progress)).toBe("keep");
    expect(summaryGate(CHILD, progress)).toBe(CHILD);
    // Progress written as the run stops, or with a gate of its own, sets the gate.
    expect(summaryGate(CHILD, { ...progress, status: "paused" })).toBeUndefined();
    expect(summaryGate(CHILD, record("", { progress: progress.meta.progress!, gate: ROOT }))).toBe(
      ROOT,
    );
  });

  it("becomes a nested graph's gate when it opens, while its run goes on or suspends", () => {
    expect(gateEffect(record("child", { gate: CHILD }))).toBe("nested");
    expect(summaryGate(undefined, record("child", { gate: CHILD }))).toBe(CHILD);
    expect(summaryGate(ROOT, record("child", { gate: CHILD }, "paused"))).toBe(CHILD);
  });

  it("goes when the nested gate is decided, and stays for another request's decision", () => {
    expect(
      summaryGate(CHILD, record("child", { decision: decision(CHILD.requestId, CHILD.node) })),
    ).toBeUndefined();
    const other = gate("other-run.4", "other/review");
    expect(
      summaryGate(other, record("child", { decision: decision(CHILD.requestId, CHILD.node) })),
    ).toBe(other);
    expect(summaryGate(undefined, record("child", { decision: decision("x", "child/a") }))).toBe(
      undefined,
    );
  });

  it("goes when the nested run ends early, if the gate was its own or one nested inside it", () => {
    for (const status of ["failed", "cancelled", "rejected"] as const) {
      expect(summaryGate(CHILD, record("child", {}, status)), status).toBeUndefined();
      // A final checkpoint that still carries the gate closes it all the same.
      expect(summaryGate(CHILD, record("child", { gate: CHILD }, status)), status).toBeUndefined();
    }
    const deeper = gate("inner-run.1", "child/inner/check");
    expect(summaryGate(deeper, record("child", {}, "cancelled"))).toBeUndefined();
    // A thread whose name only starts the same is another thread.
    expect(summaryGate(gate("r.1", "children/review"), record("child", {}, "cancelled"))).toEqual(
      gate("r.1", "children/review"),
    );
    expect(summaryGate(ROOT, record("child", {}, "failed"))).toBe(ROOT);
  });

  it("is left alone by the other checkpoints of a nested graph", () => {
    expect(gateEffect(record("child", {}))).toBe("keep");
    expect(gateEffect(record("child", {}, "completed"))).toBe("keep");
    expect(gateEffect(record("child", { progress: { node: "x", data: 1 } }))).toBe("keep");
  });

  it("goes when the nested run goes back to an earlier state, if the gate was its own or one nested inside it", () => {
    const back = record("child", { restoredFrom: "child-run.1" });
    expect(gateEffect(back)).toBe("nested");
    expect(summaryGate(CHILD, back)).toBeUndefined();
    expect(summaryGate(gate("inner-run.1", "child/inner/check"), back)).toBeUndefined();
    // Another thread's gate, or the session's own, is still open.
    expect(summaryGate(ROOT, back)).toBe(ROOT);
    expect(summaryGate(gate("r.1", "other/review"), back)).toEqual(gate("r.1", "other/review"));
    // A restore that lands at the gate again opens it anew.
    const again = gate("child-run.4", "child/review");
    expect(summaryGate(CHILD, record("child", { restoredFrom: "child-run.1", gate: again }))).toBe(
      again,
    );
  });

  it("treats threads named like prototype members as any other", () => {
    for (const thread of ["constructor", "__proto__", "toString"]) {
      const own = gate(`${thread}-run.1`, `${thread}/review`);
      expect(summaryGate(undefined, record(thread, { gate: own }))).toBe(own);
      expect(
        summaryGate(own, record(thread, { decision: decision(own.requestId, own.node) })),
      ).toBeUndefined();
      expect(summaryGate(own, record(thread, {}, "cancelled"))).toBeUndefined();
    }
  });

  it("names one gate by its request", () => {
    expect(sameGate(CHILD, { ...CHILD })).toBe(true);
    expect(sameGate(CHILD, ROOT)).toBe(false);
    expect(sameGate(undefined, undefined)).toBe(true);
    expect(sameGate(CHILD, undefined)).toBe(false);
  });
});

describe("which checkpoints are told of", () => {
  it("tells every checkpoint of the own thread, and of a nested one those that change the gate or decide one", () => {
    expect(isToldOf(record(""), false)).toBe(true);
    expect(isToldOf(record("child"), false)).toBe(false);
    expect(isToldOf(record("child", { gate: CHILD }), true)).toBe(true);
    expect(isToldOf(record("child", { gate: CHILD }), false)).toBe(false);
    // The decision of a gate the summary does not show leaves the summary as it is.
    const other = record("child", { decision: decision("other-run.1", "child/other") });
    expect(summaryGate(CHILD, other)).toBe(CHILD);
    expect(isToldOf(other, false)).toBe(true);
  });
});
