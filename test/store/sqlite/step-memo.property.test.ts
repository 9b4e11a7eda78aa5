/**
 * A step's commit takes the session's row and its thread's top from what the last step left
 * while nothing else has written (`SqliteStepMemo`). It must never change what a commit does:
 * random interleavings of two connections on one file (steps under a lease, takeovers, commits
 * without a lease, ids of every form, releases, deletions, other writes on the stepping
 * connection, commits with a released or forged lease) give the same outcome, op by op, and the same rows as two connections on another
 * file whose every step reads the database.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.js";
import type { CheckpointRecord } from "../../../src/store/checkpoint-store.js";
import type { Lease } from "../../../src/store/session-store.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { checkpoint, T0 } from "../suite/fixtures.js";
import { tempDir } from "./temp-db.js";

const temp = tempDir("step-memo");
const opened: SqliteStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

const TTL = 1_000;
type Who = "A" | "B";

/** How a step picks its seq and id, relative to the highest seq a commit has stored. */
type Op =
  | { readonly op: "acquire"; readonly who: Who }
  | {
      readonly op: "step";
      readonly who: Who;
      /** Added to the highest stored seq: 1 is the next, 0 and -1 repeat one, 2 skips one. */
      readonly ahead: -1 | 0 | 1 | 2;
      /** `own`: `<run id>.<seq>`; `ahead`: the run's id of the next seq; `custom`: no seq. */
      readonly id: "own" | "ahead" | "behind" | "custom";
      readonly status: "running" | "paused";
      /** A lease object of the caller's own making, with another token. */
      readonly forged: boolean;
    }
  | { readonly op: "unleased"; readonly who: Who }
  | { readonly op: "nested"; readonly who: Who }
  | { readonly op: "audit"; readonly who: Who }
  | { readonly op: "release"; readonly who: Who }
  | { readonly op: "delete"; readonly who: Who }
  | { readonly op: "wait"; readonly ms: number };

const who = fc.constantFrom<Who>("A", "A", "B");
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant("acquire" as const), who }) },
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant("step" as const),
      who,
      ahead: fc.constantFrom<-1 | 0 | 1 | 2>(1, 1, 1, 1, 0, -1, 2),
      id: fc.constantFrom<"own" | "ahead" | "behind" | "custom">(
        "own",
        "own",
        "own",
        "ahead",
        "behind",
        "custom",
      ),
      status: fc.constantFrom<"running" | "paused">("running", "running", "running", "paused"),
      forged: fc.constantFrom(false, false, false, false, false, true),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("unleased" as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("nested" as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("audit" as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("release" as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), who }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("wait" as const),
      ms: fc.constantFrom(100, 400, 1_100),
    }),
  },
);

/** Two connections on one new file; `stepMemo` as the store's internals say. */
async function world(stepMemo: boolean) {
  const path = temp.file();
  const open = async () => {
    const store = await SqliteStore.openWith({ path, logger: silentLogger }, { stepMemo });
    opened.push(store);
    return store;
  };
  const stores = { A: await open(), B: await open() };
  const leases: Partial<Record<Who, Lease>> = {};
  let now = T0;
  let tokens = 0;

  function record(seq: number, runId: string, id: string, fields: Partial<CheckpointRecord> = {}) {
    return checkpoint("s", seq, {
      id,
      runId,
      parentId: null,
      kind: "full",
      createdAt: now,
      ...fields,
    });
  }

  /** Runs one op; its outcome is `ok` or the error's code. */
  async function run(o: Op, top: number): Promise<string> {
    if (o.op === "wait") {
      now += o.ms;
      return "ok";
    }
    const store = stores[o.who];
    const runId = `run-${o.who}`;
    try {
      switch (o.op) {
        case "acquire": {
          const result = await store.sessions.acquire({
            sessionId: "s",
            owner: o.who,
            token: `${o.who}-${++tokens}`,
            ttlMs: TTL,
            now,
          });
          if (!result.ok) return "busy";
          leases[o.who] = result.lease;
          return "ok";
        }
        case "step": {
          const held = leases[o.who];
          if (held === undefined) return "no lease";
          const lease = o.forged ? { ...held, token: `${held.token}-forged` } : held;
          const seq = top + o.ahead;
          const id =
            o.id === "own"
              ? `${runId}.${seq}`
              : o.id === "ahead"
                ? `${runId}.${seq + 1}`
                : o.id === "behind"
                  ? `${runId}.${Math.max(top, 1)}`
                  : `custom-${seq}`;
          await store.commit({
            lease,
            checkpoints: [record(seq, runId, id, { status: o.status })],
            now,
          });
          return "ok";
        }
        case "unleased":
          await store.commit({ checkpoints: [record(top + 1, runId, `${runId}.${top + 1}`)], now });
          return "ok";
        case "nested": {
          const lease = leases[o.who];
          await store.commit({
            ...(lease === undefined ? {} : { lease }),
            checkpoints: [
              record(top + 1, runId, `${runId}.${top + 1}`, {
                thread: "child",
              } as Partial<CheckpointRecord>),
            ],
            now,
          });
          return "ok";
        }
        case "audit":
          await store.commit({ audit: [{ sessionId: "s", at: now, kind: "custom.memo" }], now });
          return "ok";
        case "release": {
          const lease = leases[o.who];
          if (lease === undefined) return "no lease";
          // The lease object is kept: its holder may go on committing with it.
          await store.sessions.release(lease);
          return "ok";
        }
        case "delete":
          await store.sessions.delete("s", { now });
          return "ok";
      }
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    }
  }

  /** What the file holds of the session, as either connection reads it. */
  async function rows() {
    const own = await stores.B.checkpoints.list("s", "");
    const summary = await stores.A.sessions.get("s");
    return {
      checkpoints: own.map((r) => [r.seq, r.id, r.status]),
      summary:
        summary === undefined ? undefined : [summary.status, summary.checkpointId, summary.gate],
    };
  }

  return { run, rows, top: async () => (await stores.A.checkpoints.latest("s", ""))?.seq ?? 0 };
}

describe("SqliteStore: the step memo", () => {
  it("keeps each session's steps to its own row and thread when two runs alternate on one connection", async () => {
    const store = await SqliteStore.open({ path: temp.file(), logger: silentLogger });
    opened.push(store);
    const lease = async (sessionId: string, ttlMs: number) => {
      const result = await store.sessions.acquire({
        sessionId,
        owner: sessionId,
        token: "one token for both",
        ttlMs,
        now: T0,
      });
      if (!result.ok) throw new Error("busy");
      return result.lease;
    };
    // One token for both (a caller may reuse one), and leases that fall due at different steps.
    const leases = { s: await lease("s", 1_000), t: await lease("t", 60_000) };
    for (let seq = 1; seq <= 6; seq++) {
      for (const sessionId of ["s", "t"] as const) {
        const runId = `run-${sessionId}`;
        await store.commit({
          lease: leases[sessionId],
          checkpoints: [
            checkpoint(sessionId, seq, {
              id: `${runId}.${seq}`,
              runId,
              parentId: null,
              kind: "full",
              status: sessionId === "t" && seq === 6 ? "paused" : "running",
            }),
          ],
          now: T0 + seq * 200,
        });
      }
    }
    for (const sessionId of ["s", "t"]) {
      const rows = await store.checkpoints.list(sessionId, "");
      expect(rows.map((r) => r.id).sort()).toEqual(
        [1, 2, 3, 4, 5, 6].map((n) => `run-${sessionId}.${n}`),
      );
    }
    expect((await store.sessions.get("s"))?.status).toBe("running");
    expect((await store.sessions.get("t"))?.status).toBe("paused");
    // s's lease was renewed by its own steps (due after half its second), t's never fell due.
    const held = await store.sessions.acquire({
      sessionId: "s",
      owner: "x",
      token: "x",
      ttlMs: 1_000,
      now: T0 + 1_300,
    });
    expect(held.ok).toBe(false);
  });

  it("never changes what a commit does, under any interleaving of two connections", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const memo = await world(true);
        const plain = await world(false);
        // A lease for A first, so most runs step under one.
        const all: Op[] = [{ op: "acquire", who: "A" }, ...ops];
        for (const [index, o] of all.entries()) {
          const top = await plain.top();
          expect(await memo.top(), `top before op ${index}`).toBe(top);
          const expected = await plain.run(o, top);
          expect(await memo.run(o, top), `op ${index}: ${JSON.stringify(o)}`).toBe(expected);
        }
        expect(await memo.rows()).toEqual(await plain.rows());
        for (const store of opened.splice(0)) await store.close();
      }),
      { numRuns: 150 },
    );
  });
});
