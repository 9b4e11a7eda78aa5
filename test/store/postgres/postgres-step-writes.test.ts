import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CheckpointConflictError, LeaseLostError } from "../../../src/errors.js";
import type { AuditEntryInput, AuditKind } from "../../../src/store/audit-store.js";
import type { StoreEvent } from "../../../src/store/notifier.js";
import type { PostgresStore } from "../../../src/store/postgres/postgres-store.js";
import { checkpoint, enqueue, eventually, GATE, lease, message, T0 } from "../suite/fixtures.js";
import { connect, dropSchema, sql, testSchema } from "./test-database.js";

const schema = testSchema("steps");
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

/** The session row's version (`xmin`): it changes whenever the row is rewritten. */
async function rowVersion(sessionId: string): Promise<string> {
  const [row] = await sql<{ v: string }>(
    `SELECT xmin::text AS v FROM "${schema}".sessions WHERE session_id = $1`,
    [sessionId],
  );
  return row!.v;
}

describe("PostgresStore: what a run's step writes", () => {
  it("leaves the summary row alone for running steps, yet the summary shows the latest checkpoint", async () => {
    const held = await lease(a, "s1");
    await a.commit({ lease: held, checkpoints: [checkpoint("s1", 1)], now: T0 });
    const first = await rowVersion("s1");
    for (let seq = 2; seq <= 5; seq++) {
      await a.commit({ lease: held, checkpoints: [checkpoint("s1", seq)], now: T0 + seq });
    }
    expect(await rowVersion("s1")).toBe(first);
    expect(await b.sessions.get("s1")).toMatchObject({
      status: "running",
      checkpointId: "s1|#5",
      createdAt: checkpoint("s1", 1).createdAt,
      updatedAt: checkpoint("s1", 5).createdAt,
    });
    expect((await b.sessions.list()).items.find((s) => s.sessionId === "s1")?.checkpointId).toBe(
      "s1|#5",
    );
    await a.commit({
      lease: held,
      checkpoints: [checkpoint("s1", 6, { status: "paused" })],
      now: T0 + 6,
    });
    expect(await rowVersion("s1")).not.toBe(first);
    expect((await b.sessions.list({ status: "paused" })).items.map((s) => s.sessionId)).toEqual([
      "s1",
    ]);
  });

  it("notifies the checkpoints that change the summary, not the running steps between them", async () => {
    const events: StoreEvent[] = [];
    const stop = b.notifier.subscribe("s2", (event) => events.push(event));
    try {
      const held = await lease(a, "s2");
      const statuses = ["running", "running", "running", "paused", "paused", "running"] as const;
      for (const [i, status] of statuses.entries()) {
        await a.commit({
          lease: held,
          checkpoints: [checkpoint("s2", i + 1, { status })],
          now: T0 + i,
        });
      }
      await a.sessions.release(held);
      await eventually(() =>
        expect(events.map((e) => (e.kind === "checkpoint" ? e.id : e.kind))).toEqual([
          "s2|#1",
          "s2|#4",
          "s2|#6",
          "released",
        ]),
      );
    } finally {
      stop();
    }
  });
});

describe("PostgresStore: which commits wait for the disk", () => {
  /** For each commit statement the pool sends: whether it asked not to wait for the disk. */
  function watch(): { relaxed: boolean[]; stop: () => void } {
    const relaxed: boolean[] = [];
    const original = pg.Pool.prototype.query;
    const spy = vi.spyOn(pg.Pool.prototype, "query").mockImplementation(function (
      this: pg.Pool,
      ...args: unknown[]
    ) {
      const statement = args[0] as { name?: string; values?: unknown[] } | undefined;
      const name = statement?.name ?? "";
      if (name.endsWith(".checkpoint_insert_1") || name.endsWith(".step_insert")) {
        relaxed.push(statement?.values?.at(-1) === true);
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as never);
    return { relaxed, stop: () => spy.mockRestore() };
  }

  it("lets a running step's checkpoint commit without waiting, and nothing else", async () => {
    const held = await lease(a, "fast");
    const seen = watch();
    // A step's checkpoint names the checkpoint its successors' keys derive from; one that
    // names none changed the run's course, and keys derive from it.
    const step = (seq: number) =>
      checkpoint("fast", seq, { meta: { v: 1, keyFrom: checkpoint("fast", 1).id } });
    try {
      await a.commit({ lease: held, checkpoints: [checkpoint("fast", 1)], now: T0 });
      await a.commit({ lease: held, checkpoints: [step(2)], now: T0 });
      await a.commit({ lease: held, checkpoints: [step(3)], now: T0 });
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("fast", 4, { status: "paused", meta: { v: 1, gate: GATE } })],
        now: T0,
      });
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("fast", 5, { status: "completed" })],
        now: T0,
      });
    } finally {
      seen.stop();
    }
    expect(seen.relaxed).toEqual([false, true, true, false, false]);
    expect((await b.checkpoints.latest("fast", ""))?.seq).toBe(5);
  });

  it('waits for the disk at every step with stepCommit "durable"', async () => {
    const durable = await connect(schema, { stepCommit: "durable" });
    try {
      const held = await lease(durable, "durable");
      const seen = watch();
      try {
        await durable.commit({ lease: held, checkpoints: [checkpoint("durable", 1)], now: T0 });
        await durable.commit({ lease: held, checkpoints: [checkpoint("durable", 2)], now: T0 });
      } finally {
        seen.stop();
      }
      expect(seen.relaxed).toEqual([false, false]);
      expect((await b.checkpoints.latest("durable", ""))?.seq).toBe(2);
    } finally {
      await durable.close();
    }
  });
});

describe("PostgresStore: a step whose summary another process changed", () => {
  it("finds the change, writes the summary and tells other processes, whatever it expected", async () => {
    const heard: StoreEvent[] = [];
    const stop = b.notifier.subscribe("changed", (event) => heard.push(event));
    const sent: string[] = [];
    const original = pg.Pool.prototype.query;
    const spy = vi.spyOn(pg.Pool.prototype, "query").mockImplementation(function (
      this: pg.Pool,
      ...args: unknown[]
    ) {
      const name = (args[0] as { name?: string } | undefined)?.name;
      if (name?.endsWith("_insert") || name?.includes("checkpoint_insert")) {
        sent.push(name.slice(name.lastIndexOf(".") + 1));
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as never);
    try {
      const held = await lease(a, "changed");
      const graph = { v: 1 as const, graph: "review" };
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("changed", 1, { meta: graph })],
        now: T0,
      });
      await a.commit({ lease: held, checkpoints: [checkpoint("changed", 2)], now: T0 });
      // Another process writes the session's summary meanwhile, without the lease.
      await b.commit({
        checkpoints: [checkpoint("changed", 3, { status: "paused" })],
        now: T0,
      });
      await a.commit({ lease: held, checkpoints: [checkpoint("changed", 4)], now: T0 });
      await a.commit({ lease: held, checkpoints: [checkpoint("changed", 5)], now: T0 });
      expect(sent).toEqual([
        "checkpoint_insert_1",
        "step_insert",
        "checkpoint_insert_1",
        "step_insert",
        "checkpoint_insert_1",
        "step_insert",
      ]);
      expect(await b.sessions.get("changed")).toMatchObject({
        status: "running",
        graph: "review",
        checkpointId: "changed|#5",
      });
      await eventually(() =>
        expect(heard.filter((e) => e.kind === "checkpoint").map((e) => e.id)).toEqual([
          "changed|#1",
          "changed|#3",
          "changed|#4",
        ]),
      );
    } finally {
      spy.mockRestore();
      stop();
    }
  });

  it("is refused when its session was deleted, and writes nothing", async () => {
    const held = await lease(a, "gone", { ttlMs: 10 });
    await a.commit({ lease: held, checkpoints: [checkpoint("gone", 1)], now: T0 });
    await a.commit({ lease: held, checkpoints: [checkpoint("gone", 2)], now: T0 });
    // Its lease ran out (a run that stalled), so another process may delete it.
    await b.sessions.delete("gone", { now: T0 + 10 });
    await expect(
      a.commit({ lease: held, checkpoints: [checkpoint("gone", 3)], now: T0 }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await b.checkpoints.list("gone", "")).toEqual([]);
    expect(await b.sessions.get("gone")).toBeUndefined();
  });
});

/** What the store's connections send: a statement's name, else its text (BEGIN, COMMIT). */
function watchAll(): { sent: string[]; stop: () => void } {
  const sent: string[] = [];
  const original = pg.Client.prototype.query;
  const spy = vi.spyOn(pg.Client.prototype, "query").mockImplementation(function (
    this: pg.Client,
    ...args: unknown[]
  ) {
    const statement = args[0] as string | { name?: string; text?: string };
    const name = typeof statement === "string" ? statement : (statement.name ?? statement.text);
    sent.push(String(name).slice(String(name).lastIndexOf(".") + 1));
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as never);
  return { sent, stop: () => spy.mockRestore() };
}

const entry = (sessionId: string, kind: AuditKind, at = T0): AuditEntryInput => ({
  sessionId,
  at,
  kind,
});

/** The seqs of the session's own thread, oldest first. */
async function seqsOf(sessionId: string): Promise<number[]> {
  return (await b.checkpoints.list(sessionId, "")).map((c) => c.seq).sort((x, y) => x - y);
}

async function auditOf(sessionId: string): Promise<[number, string][]> {
  return (await b.audit.list(sessionId)).items.map((e) => [e.seq, e.kind]);
}

describe("PostgresStore: a run's first and last batch, checkpoints with audit entries", () => {
  it("sends them as one statement, numbering each session's entries without gaps", async () => {
    const held = await lease(a, "audited");
    const seen = watchAll();
    try {
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("audited", 1)],
        audit: [entry("audited", "run.started"), entry("other", "custom.a")],
        now: T0,
      });
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("audited", 2), checkpoint("audited", 3, { status: "completed" })],
        audit: [entry("audited", "run.finished"), entry("other", "custom.b")],
        now: T0,
      });
    } finally {
      seen.stop();
    }
    expect(seen.sent).toEqual(["checkpoint_insert_1_audit", "checkpoint_insert_n_audit"]);
    expect(await auditOf("audited")).toEqual([
      [1, "run.started"],
      [2, "run.finished"],
    ]);
    expect(await auditOf("other")).toEqual([
      [1, "custom.a"],
      [2, "custom.b"],
    ]);
    expect(await seqsOf("audited")).toEqual([1, 2, 3]);
    expect(await b.sessions.get("audited")).toMatchObject({ status: "completed" });
  });

  it("writes no audit entry of a batch whose checkpoint conflicts, and gives back no seq", async () => {
    const held = await lease(a, "clash");
    await a.commit({
      lease: held,
      checkpoints: [checkpoint("clash", 1)],
      audit: [entry("clash", "run.started")],
      now: T0,
    });
    const seen = watchAll();
    try {
      await expect(
        a.commit({
          lease: held,
          checkpoints: [checkpoint("clash", 1, { id: "again" })],
          audit: [entry("clash", "custom.never"), entry("bystander", "custom.never")],
          now: T0,
        }),
      ).rejects.toBeInstanceOf(CheckpointConflictError);
    } finally {
      seen.stop();
    }
    expect(seen.sent).toEqual(["checkpoint_insert_1_audit"]);
    expect(await auditOf("bystander")).toEqual([]);
    await a.commit({
      lease: held,
      checkpoints: [checkpoint("clash", 2)],
      audit: [entry("clash", "custom.tick"), entry("bystander", "custom.tick")],
      now: T0,
    });
    expect(await auditOf("clash")).toEqual([
      [1, "run.started"],
      [2, "custom.tick"],
    ]);
    expect(await auditOf("bystander")).toEqual([[1, "custom.tick"]]);
    expect(await seqsOf("clash")).toEqual([1, 2]);
    expect((await b.checkpoints.latest("clash", ""))?.id).toBe("clash|#2");
  });

  it("writes nothing of a batch whose lease was lost: no checkpoint, no audit entry", async () => {
    const old = await lease(a, "taken", { ttlMs: 10 });
    await a.commit({
      lease: old,
      checkpoints: [checkpoint("taken", 1)],
      audit: [entry("taken", "run.started")],
      now: T0,
    });
    await lease(b, "taken", { now: T0 + 10 });
    await expect(
      a.commit({
        lease: old,
        checkpoints: [checkpoint("taken", 2), checkpoint("taken", 3, { status: "completed" })],
        audit: [entry("taken", "run.finished", T0 + 11)],
        now: T0 + 11,
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await auditOf("taken")).toEqual([[1, "run.started"]]);
    expect(await seqsOf("taken")).toEqual([1]);
    expect(await b.sessions.get("taken")).toMatchObject({ status: "running" });
  });
});

describe("PostgresStore: a batch that settles messages", () => {
  const APPLIED = { status: "applied", action: { type: "approve" }, appliedAt: T0 } as const;

  it("writes a decision, its message and its audit entries in one statement, then tells every event", async () => {
    const queued = await enqueue(a, message("decided"));
    const heard: StoreEvent[] = [];
    const stop = b.notifier.subscribe("decided", (event) => heard.push(event));
    const held = await lease(a, "decided");
    const seen = watchAll();
    try {
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("decided", 1, { status: "running" })],
        settle: [{ id: queued.id, outcome: APPLIED }],
        audit: [entry("decided", "approval.decided"), entry("decided", "run.resumed")],
        now: T0,
      });
    } finally {
      seen.stop();
    }
    try {
      expect(seen.sent).toEqual(["decision_insert_audit"]);
      expect(await auditOf("decided")).toEqual([
        [1, "interrupt.received"],
        [2, "approval.decided"],
        [3, "run.resumed"],
      ]);
      expect(await b.interrupts.get(queued.id)).toMatchObject({ state: "applied" });
      expect(await b.interrupts.stats("decided")).toMatchObject({ depth: 0, applied: 1 });
      await eventually(() =>
        // The send's own `queued` event may reach b after it subscribed.
        expect(
          heard.filter((e) => e.kind !== "queued").map((e) => `${e.kind} ${"id" in e ? e.id : ""}`),
        ).toEqual([`settled ${queued.id}`, "checkpoint decided|#1"]),
      );
    } finally {
      stop();
    }
  });

  it("sends several checkpoints, then the settlements with the audit entries, in a transaction", async () => {
    const queued = await enqueue(a, message("decided-n"));
    const held = await lease(a, "decided-n");
    const seen = watchAll();
    try {
      await a.commit({
        lease: held,
        checkpoints: [
          checkpoint("decided-n", 1, { status: "running" }),
          checkpoint("decided-n", 2, { status: "running" }),
        ],
        settle: [{ id: queued.id, outcome: APPLIED }],
        audit: [entry("decided-n", "approval.decided")],
        now: T0,
      });
    } finally {
      seen.stop();
    }
    expect(seen.sent).toEqual(["BEGIN", "checkpoint_insert_n", "settle_audit", "COMMIT"]);
    expect(await seqsOf("decided-n")).toEqual([1, 2]);
    expect(await b.interrupts.get(queued.id)).toMatchObject({ state: "applied" });
  });

  it("settles nothing and appends no entry when the decision's lease was lost", async () => {
    const queued = await enqueue(a, message("decided-lost"));
    const old = await lease(a, "decided-lost", { ttlMs: 10 });
    const claimed = await a.interrupts.claim("decided-lost", { now: T0, owner: old.owner });
    expect(claimed?.id).toBe(queued.id);
    await lease(b, "decided-lost", { now: T0 + 10 });
    const heard: StoreEvent[] = [];
    const stop = b.notifier.subscribe("decided-lost", (event) => heard.push(event));
    try {
      await expect(
        a.commit({
          lease: old,
          checkpoints: [checkpoint("decided-lost", 1, { status: "running" })],
          settle: [{ id: queued.id, outcome: APPLIED }],
          audit: [entry("decided-lost", "approval.decided", T0 + 11)],
          now: T0 + 11,
        }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await seqsOf("decided-lost")).toEqual([]);
      expect(await auditOf("decided-lost")).toEqual([[1, "interrupt.received"]]);
      // The takeover queued again what the old holder had claimed; the refused write left it so.
      expect(await b.interrupts.get(queued.id)).toMatchObject({ state: "queued" });
      expect(await b.interrupts.stats("decided-lost")).toMatchObject({
        depth: 1,
        inFlight: 0,
        applied: 0,
      });
      // A round trip of b's own after the refusal: a notification would have come before it.
      await b.commit({ audit: [entry("decided-lost", "run.started", T0 + 12)], now: T0 + 12 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(heard.filter((e) => e.kind !== "queued")).toEqual([]);
    } finally {
      stop();
    }
  });

  it("settles nothing when the decision's checkpoint conflicts with one stored", async () => {
    const queued = await enqueue(a, message("decided-conflict"));
    const held = await lease(a, "decided-conflict");
    await a.commit({ lease: held, checkpoints: [checkpoint("decided-conflict", 1)], now: T0 });
    await expect(
      a.commit({
        lease: held,
        checkpoints: [checkpoint("decided-conflict", 1, { status: "running", id: "other" })],
        settle: [{ id: queued.id, outcome: APPLIED }],
        audit: [entry("decided-conflict", "approval.decided")],
        now: T0,
      }),
    ).rejects.toBeInstanceOf(CheckpointConflictError);
    expect(await b.interrupts.get(queued.id)).toMatchObject({ state: "queued" });
    expect(await b.interrupts.stats("decided-conflict")).toMatchObject({ depth: 1, applied: 0 });
    expect(await auditOf("decided-conflict")).toEqual([[1, "interrupt.received"]]);
  });

  it("still sends the checkpoint's event when no message was left to settle", async () => {
    const heard: StoreEvent[] = [];
    const stop = b.notifier.subscribe("late", (event) => heard.push(event));
    try {
      const held = await lease(a, "late");
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("late", 1, { status: "paused" })],
        settle: [{ id: "never-queued", outcome: APPLIED }],
        now: T0,
      });
      await eventually(() =>
        expect(heard.map((e) => `${e.kind} ${"id" in e ? e.id : ""}`)).toEqual([
          "checkpoint late|#1",
        ]),
      );
      expect(await b.interrupts.get("never-queued")).toBeUndefined();
    } finally {
      stop();
    }
  });
});

describe("PostgresStore: a nested graph's gate in the summary", () => {
  const APPROVED = { status: "applied", action: { type: "approve" }, appliedAt: T0 } as const;
  const gate = { ...GATE, requestId: "child-run.1", node: "child/check" };
  const child = (sessionId: string, seq: number, fields: Parameters<typeof checkpoint>[2] = {}) =>
    checkpoint(sessionId, seq, { thread: "child", runId: "child-run", ...fields });

  it("takes a transaction only where the gate opens or closes, and tells other processes", async () => {
    const heard: StoreEvent[] = [];
    const stop = b.notifier.subscribe("nested", (event) => heard.push(event));
    const held = await lease(a, "nested");
    await a.commit({
      lease: held,
      checkpoints: [checkpoint("nested", 1, { meta: { v: 1, graph: "outer" } })],
      now: T0,
    });
    const approve = await enqueue(a, message("nested"));
    const seen = watchAll();
    try {
      // The nested graph's own steps, and its gate opening with its audit entry.
      await a.commit({ lease: held, checkpoints: [child("nested", 1)], now: T0 });
      await a.commit({
        lease: held,
        checkpoints: [child("nested", 2, { meta: { v: 1, gate }, createdAt: T0 + 10 })],
        audit: [entry("nested", "approval.requested", T0 + 10)],
        now: T0 + 10,
      });
      expect(await b.sessions.get("nested")).toMatchObject({ gate, updatedAt: T0 + 10 });
      // A branch beside it saves its progress: a step that keeps the gate.
      const progress = { v: 1 as const, progress: { node: "group", data: { branch: "b" } } };
      await a.commit({
        lease: held,
        checkpoints: [checkpoint("nested", 2, { meta: progress })],
        now: T0,
      });
      expect(await b.sessions.get("nested")).toMatchObject({ checkpointId: "nested|#2", gate });
      // The decision, with the message it consumed.
      await a.commit({
        lease: held,
        checkpoints: [child("nested", 3, { meta: { v: 1, decision: decisionOf(gate) } })],
        settle: [{ id: approve.id, outcome: APPROVED }],
        audit: [entry("nested", "approval.decided", T0 + 20)],
        now: T0 + 20,
      });
      await a.commit({ lease: held, checkpoints: [child("nested", 4)], now: T0 });
    } finally {
      seen.stop();
    }
    try {
      // What the commits sent (the reads in between are the other store's).
      expect(seen.sent.filter((name) => name !== "session_get")).toEqual([
        "step_insert",
        "BEGIN",
        "checkpoint_insert_1_audit",
        "nested_gate_write",
        "COMMIT",
        "step_insert",
        "BEGIN",
        "checkpoint_insert_1",
        "nested_gate_read",
        "nested_gate_write",
        "settle_audit",
        "COMMIT",
        "step_insert",
      ]);
      expect(await b.sessions.get("nested")).not.toHaveProperty("gate");
      expect(await auditOf("nested")).toEqual([
        [1, "interrupt.received"],
        [2, "approval.requested"],
        [3, "approval.decided"],
      ]);
      await eventually(() =>
        expect(heard.filter((e) => e.kind === "checkpoint").map((e) => e.id)).toEqual([
          "nested|#1",
          "nested|child#2",
          "nested|child#3",
        ]),
      );
    } finally {
      stop();
    }
  });

  it("writes nothing of a nested gate's batch whose lease was lost", async () => {
    const old = await lease(a, "nested-lost", { ttlMs: 10 });
    await a.commit({ lease: old, checkpoints: [checkpoint("nested-lost", 1)], now: T0 });
    await lease(b, "nested-lost", { now: T0 + 10 });
    await expect(
      a.commit({
        lease: old,
        checkpoints: [child("nested-lost", 1, { meta: { v: 1, gate } })],
        now: T0 + 11,
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await b.checkpoints.list("nested-lost", "child")).toEqual([]);
    expect(await b.sessions.get("nested-lost")).not.toHaveProperty("gate");
  });
});

function decisionOf(gate: typeof GATE) {
  return {
    requestId: gate.requestId,
    node: gate.node,
    revision: gate.revision,
    decision: "approve" as const,
    by: "human" as const,
  };
}
