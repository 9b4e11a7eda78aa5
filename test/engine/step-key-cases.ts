/**
 * Engine suite cases: `ctx.idempotencyKey` stays the same when a step runs again, however many
 * runs ended in between without running it: a process dies inside a node, the next run fails
 * before it gets there, and the run after that gives the node the key it had, so an outside
 * system keyed by it sees the effect once.
 */
import { expect, it } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  type NodeContext,
  START,
  type Store,
  StoreUnavailableError,
  silentLogger,
} from "../../src/index.js";
import { keyBaseOf } from "../../src/store/checkpoint-meta.js";
import { CrashableStore } from "./crashable-store.js";
import { expectNoMissingParent } from "./engine-checks.js";

const State = z.object({ log: z.array(z.string()).default([]) });
type State = z.output<typeof State>;
const T0 = 1_700_000_000_000;
const LEASE_TTL_MS = 1_000;

/** The keys `effect` ran under, and what it does on each execution (by its index). */
class Effects {
  readonly keys: string[] = [];
  constructor(readonly during: (execution: number, ctx: NodeContext) => void = () => {}) {}

  node() {
    return (_state: Readonly<State>, ctx: NodeContext): Partial<State> => {
      this.keys.push(ctx.idempotencyKey);
      this.during(this.keys.length, ctx);
      return { log: ["effect"] };
    };
  }
}

/** START → prepare → effect → report → END. */
function graphOf(effects: Effects) {
  return new Graph({ state: State, reducers: { log: "append" }, name: "step-keys" })
    .addNode("prepare", () => ({ log: ["prepare"] }))
    .addNode("effect", effects.node())
    .addNode("report", () => ({ log: ["report"] }))
    .addEdge(START, "prepare")
    .addEdge("prepare", "effect")
    .addEdge("effect", "report")
    .addEdge("report", END)
    .compile();
}

function processOver(store: Store, effects: Effects, at = T0) {
  return new GraphAgent({
    graph: graphOf(effects),
    store,
    clock: new SimulatedClock(at),
    logger: silentLogger,
    leaseTtlMs: LEASE_TTL_MS,
  });
}

const firstCommit = (call: { readonly name: string }): boolean => call.name === "commit";

const cut = () => {
  throw new StoreUnavailableError("test", "the connection was cut");
};

export function stepKeyCases(
  store: () => Store,
  other: () => Store,
  session: (label: string) => string,
): void {
  it("runs a node again under its key after one process died in it and the next run failed before it", async () => {
    const id = session("step-key-crash");
    const dying = new CrashableStore(store());
    const effects = new Effects((n) => {
      if (n === 1) dying.crash();
    });
    const first = await processOver(dying, effects).run({}, { sessionId: id });
    expect(first.status).not.toBe("completed");
    const prepared = await store().checkpoints.latest(id, "");
    expect(prepared?.node).toBe("prepare");

    // The next process finds the store gone at its first write and ends the run at once.
    const failing = new CrashableStore(other());
    failing.before(firstCommit, cut);
    const at = T0 + LEASE_TTL_MS + 1;
    const second = await processOver(failing, effects, at).resume(id);
    expect(second.status).toBe("failed");
    expect(second.error).toBeInstanceOf(StoreUnavailableError);
    const ended = await store().checkpoints.latest(id, "");
    expect(ended).toMatchObject({ status: "failed", parentId: prepared!.id });
    expect(effects.keys).toHaveLength(1);

    const third = await processOver(other(), effects, at).resume(id);
    expect(third.status).toBe("completed");
    expect(third.state.log).toEqual(["prepare", "effect", "report"]);
    expect(effects.keys).toHaveLength(2);
    expect(effects.keys[1]).toBe(effects.keys[0]);
    // The failed run's end names the checkpoint the keys derive from, as the step before
    // `effect` did: the run's start, the last checkpoint that changed the course.
    const [start] = await store().checkpoints.list(id, "", { limit: 1, beforeSeq: prepared!.seq });
    expect(start).toMatchObject({ node: null, parentId: null });
    expect(prepared?.kind !== "unparsable" && keyBaseOf(prepared!)).toBe(start!.id);
    expect(ended?.kind !== "unparsable" && keyBaseOf(ended!)).toBe(start!.id);
    // Named by seq within the run that wrote them (the failed run's end names another run's).
    expect(prepared?.kind !== "unparsable" && prepared?.meta).toEqual({ v: 1, keySeq: start!.seq });
    expect(ended?.kind !== "unparsable" && ended?.meta.keyFrom).toBe(start!.id);
    await expectNoMissingParent(store(), id);
  });
}
