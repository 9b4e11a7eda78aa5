import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../errors.js";
import { keyBaseOf } from "../store/checkpoint-meta.js";
import type { CheckpointRecord } from "../store/checkpoint-store.js";
import type { Settlement } from "../store/interrupt-store.js";
import type { Store, StoreBatch } from "../store/store.js";
import { Checkpointer, type CheckpointInput, type Durability } from "./checkpointer.js";

/** The one store call a checkpointer makes, recorded, with the next ones made to fail on cue. */
class CommitLog {
  readonly batches: StoreBatch[] = [];
  readonly stored: CheckpointRecord[] = [];
  failures = 0;

  readonly store = {
    commit: async (batch: StoreBatch) => {
      if (this.failures > 0) {
        this.failures--;
        throw new StoreUnavailableError("test", "the write was cut");
      }
      this.batches.push(batch);
      this.stored.push(...(batch.checkpoints ?? []));
    },
  } as unknown as Store;

  ids(): string[] {
    return this.stored.map((r) => r.id);
  }
}

const INITIAL = "earlier.3";
let clock = 0;

function checkpointer(log: CommitLog, durability: Durability, parentId: string | null = INITIAL) {
  return new Checkpointer({
    store: log.store,
    sessionId: "s",
    thread: "",
    durability,
    now: () => ++clock,
    lease: () => undefined,
    parentId,
    nextSeq: 1,
  });
}

const RUN = "run";
const step = (node: string, fields: Partial<CheckpointInput> = {}): CheckpointInput => ({
  runId: RUN,
  node,
  iteration: 1,
  next: [],
  status: "running",
  delta: [["last", "set", node]],
  keepsKeyBase: true,
  ...fields,
});
const state = (node: string) => ({ last: node });
const path = () => [];
const settlement = (id: string): Settlement => ({
  id,
  outcome: { status: "applied", action: { type: "approve" }, appliedAt: 0 },
});

describe("Checkpointer", () => {
  it("writes each checkpoint at once under durability step, one commit each", async () => {
    const log = new CommitLog();
    const writer = checkpointer(log, "step");
    await writer.save(step("a"), state("a"), path);
    await writer.save(step("b"), state("b"), path);
    expect(log.batches.map((b) => b.checkpoints?.map((r) => r.id))).toEqual([["run.1"], ["run.2"]]);
    expect(log.stored.map((r) => [r.kind, r.parentId])).toEqual([
      ["full", INITIAL],
      ["delta", "run.1"],
    ]);
  });

  it("buffers steps under durability exit until a flush, or a write that settles a message", async () => {
    const log = new CommitLog();
    const writer = checkpointer(log, "exit");
    await writer.save(step("a"), state("a"), path);
    await writer.save(step("b"), state("b"), path);
    expect(log.batches).toEqual([]);
    await writer.save(step("gate", { keepsKeyBase: false }), state("gate"), path, {
      settle: [settlement("m1")],
    });
    expect(log.batches).toHaveLength(1);
    expect(log.batches[0]!.checkpoints?.map((r) => r.id)).toEqual(["run.1", "run.2", "run.3"]);
    expect(log.batches[0]!.settle).toEqual([settlement("m1")]);
    await writer.save(step("c"), state("c"), path);
    expect(log.batches).toHaveLength(1);
    await writer.flush();
    expect(log.ids()).toEqual(["run.1", "run.2", "run.3", "run.4"]);
  });

  it("continues a lost batch of buffered steps from the last stored checkpoint, as a full snapshot", async () => {
    const log = new CommitLog();
    const writer = checkpointer(log, "exit");
    await writer.save(step("a"), state("a"), path, undefined, true);
    await writer.save(step("b"), state("b"), path);
    await writer.save(step("c"), state("c"), path);
    log.failures = 1;
    // The decision's write takes the buffered steps with it.
    await expect(
      writer.save(step("gate", { keepsKeyBase: false }), state("gate"), path, {
        settle: [settlement("m1")],
      }),
    ).rejects.toThrow(StoreUnavailableError);
    expect(writer.lastId).toBe("run.1");
    expect(writer.keyBase).toBe(INITIAL);
    const next = await writer.save(step("end"), state("end"), path, undefined, true);
    expect(next).toMatchObject({ kind: "full", parentId: "run.1", state: state("end") });
    expect(next?.meta).toMatchObject({ keyFrom: INITIAL });
    expect(log.ids()).toEqual(["run.1", next?.id]);
  });

  it("does not continue a jump back whose checkpoint was lost", async () => {
    const log = new CommitLog();
    const writer = checkpointer(log, "step");
    await writer.save(step("a"), state("a"), path);
    await writer.save(step("b"), state("b"), path);
    writer.jumpTo("run.1");
    log.failures = 1;
    await expect(
      writer.save(step("restored", { keepsKeyBase: false }), state("a"), path),
    ).rejects.toThrow(StoreUnavailableError);
    // The jump did not happen: the run goes on from the latest checkpoint that is stored.
    expect(writer.lastId).toBe("run.2");
    const next = await writer.save(step("c"), state("c"), path);
    expect(next).toMatchObject({ kind: "full", parentId: "run.2" });
  });

  it("carries what a lost first checkpoint said of the session to the next one", async () => {
    const log = new CommitLog();
    const writer = checkpointer(log, "step", null);
    log.failures = 1;
    await expect(
      writer.save(
        step("start", {
          keepsKeyBase: false,
          meta: { graph: "review", forkedFrom: { sessionId: "x", checkpointId: "x.1" } },
        }),
        state("start"),
        path,
      ),
    ).rejects.toThrow(StoreUnavailableError);
    const next = await writer.save(step("a"), state("a"), path);
    expect(next).toMatchObject({ kind: "full", parentId: null });
    expect(next?.meta).toMatchObject({
      graph: "review",
      forkedFrom: { sessionId: "x", checkpointId: "x.1" },
    });
  });

  it("writes one batch after another, and a failed one does not stop the next", async () => {
    const log = new CommitLog();
    const writer = checkpointer(log, "exit");
    writer.stage(step("a"), state("a"), path);
    log.failures = 1;
    const first = writer.flush();
    writer.stage(step("b"), state("b"), path);
    const second = writer.flush();
    await expect(first).rejects.toThrow(StoreUnavailableError);
    await second;
    expect(log.ids()).toEqual(["run.2"]);
    // A flush with nothing to write waits for the write under way, whatever becomes of it.
    writer.stage(step("c"), state("c"), path);
    log.failures = 1;
    const third = writer.flush();
    const idle = writer.flush();
    await expect(third).rejects.toThrow(StoreUnavailableError);
    await expect(idle).resolves.toBeUndefined();
  });

  it("never stores a checkpoint whose parent, delta base or key base is not stored, however writes fail", async () => {
    type Op =
      | { readonly kind: "step"; readonly keeps: boolean; readonly flush: boolean }
      | { readonly kind: "decide" }
      | { readonly kind: "parallel"; readonly width: number }
      | { readonly kind: "jump"; readonly back: number }
      | { readonly kind: "flush" };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("step"), keeps: fc.boolean(), flush: fc.boolean() }),
      fc.record({ kind: fc.constant("decide") }),
      fc.record({ kind: fc.constant("parallel"), width: fc.integer({ min: 2, max: 3 }) }),
      fc.record({ kind: fc.constant("jump"), back: fc.nat(4) }),
      fc.record({ kind: fc.constant("flush") }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Durability>("step", "exit"),
        fc.array(fc.record({ op, fails: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        async (durability, ops) => {
          const log = new CommitLog();
          const writer = checkpointer(log, durability);
          let n = 0;
          for (const { op, fails } of ops) {
            log.failures = fails ? 1 : 0;
            const name = `n${++n}`;
            try {
              switch (op.kind) {
                case "step":
                  await writer.save(
                    step(name, { keepsKeyBase: op.keeps }),
                    state(name),
                    path,
                    {},
                    op.flush,
                  );
                  break;
                case "decide":
                  await writer.save(step(name, { keepsKeyBase: false }), state(name), path, {
                    settle: [settlement(name)],
                  });
                  break;
                case "parallel":
                  for (let i = 0; i < op.width; i++) {
                    writer.stage(step(`${name}.${i}`), state(`${name}.${i}`), path);
                  }
                  await writer.flush();
                  break;
                case "jump": {
                  // A go_back: written up to here, then back to a stored checkpoint.
                  await writer.flush();
                  const target = log.stored.at(-1 - op.back)?.id ?? INITIAL;
                  writer.jumpTo(target);
                  await writer.save(step(name, { keepsKeyBase: false }), state(name), path, {
                    settle: [settlement(name)],
                  });
                  break;
                }
                case "flush":
                  await writer.flush();
                  break;
              }
            } catch (error) {
              expect(error).toBeInstanceOf(StoreUnavailableError);
              // What the lost write held did not happen: not its steps, not its jump back.
              expect(writer.lastId).toBe(log.stored.at(-1)?.id ?? INITIAL);
            }
          }
          log.failures = 0;
          await writer.flush();

          const known = new Set<string>([INITIAL]);
          for (const record of log.stored) {
            expect(known.has(record.parentId ?? ""), `parent of ${record.id}`).toBe(true);
            expect(known.has(keyBaseOf(record)) || keyBaseOf(record) === record.id).toBe(true);
            known.add(record.id);
          }
          // Ids are never reused, whatever was lost.
          expect(new Set(log.ids()).size).toBe(log.stored.length);
          // The run goes on from a stored checkpoint.
          expect(known.has(writer.lastId ?? "")).toBe(true);
          expect(known.has(writer.keyBase ?? "")).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
