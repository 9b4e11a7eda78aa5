/**
 * What must hold for any session, whatever was sent and whoever ran it: checks over the public
 * Store interface that the engine suite and the interleaving property share.
 */
import { expect } from "vitest";
import type { AuditEntry, InterruptOutcome, Store } from "../../src/index.js";
import { turns } from "../graph/helpers.js";

/** Waits, on real timers in short steps, until `condition()` holds (SQL stores answer later). */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  withinMs = 2_000,
): Promise<void> {
  const until = Date.now() + withinMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > until) throw new Error(`Timed out waiting until ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Lets the event loop turn until no call of any of `stores` (counting wrappers, such as a
 * `CrashableStore`) waits for its answer, twice in a row: a SQL store answers on real time, so
 * simulated time should move on only once every caller has heard back, as with the memory store.
 */
export async function quiet(...stores: readonly { readonly inFlight: number }[]): Promise<void> {
  const until = Date.now() + 5_000;
  let calm = 0;
  while (calm < 2 && Date.now() < until) {
    await turns(2);
    if (stores.every((store) => store.inFlight === 0)) calm++;
    else {
      calm = 0;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

/**
 * Every thread of the session has each checkpoint's parent: walking `parentId` from any record
 * never reaches a record the store does not have. Returns the number of records checked.
 */
export async function expectNoMissingParent(
  store: Store,
  sessionId: string,
  threads: readonly string[] = [""],
): Promise<number> {
  let checked = 0;
  for (const thread of threads) {
    const records = await store.checkpoints.list(sessionId, thread);
    const ids = new Set(records.map((r) => r.id));
    for (const record of records) {
      if (record.parentId !== null && !ids.has(record.parentId)) {
        throw new Error(
          `Checkpoint \`${record.id}\` of thread \`${thread}\` has parent \`${record.parentId}\`, which the store does not have.`,
        );
      }
      expect(record.kind, `checkpoint ${record.id} is readable`).not.toBe("unparsable");
      checked++;
    }
  }
  return checked;
}

/** The outcome of a message as the store has it, once it is settled. */
export async function settledOutcome(
  outcome: (id: string) => Promise<InterruptOutcome | undefined>,
  id: string,
): Promise<InterruptOutcome> {
  let found: InterruptOutcome | undefined;
  await eventually(async () => {
    found = await outcome(id);
    return found !== undefined;
  }, `message ${id} is settled`);
  return found!;
}

/**
 * The audit trail tells one story: entries numbered from 1 in order; runs do not overlap (each
 * `run.started` / `run.resumed` / `run.forked` names its run and ends with that run's
 * `run.finished` before the next one starts); every message is received before it is applied or refused, and settled once; every
 * decision answers a request made before it. `abandoned` runs (their process died) may end
 * without `run.finished`.
 */
export function expectAuditInOrder(
  items: readonly AuditEntry[],
  options: { readonly abandoned?: number } = {},
): void {
  expect(items.map((e) => e.seq)).toEqual(items.map((_, i) => i + 1));
  let abandoned = options.abandoned ?? 0;
  let open = false;
  let runId: string | undefined;
  const received = new Set<string>();
  const settled = new Set<string>();
  const requested = new Set<string>();
  for (const entry of items) {
    const data = (entry.data ?? {}) as { id?: string; requestId?: string };
    switch (entry.kind) {
      case "run.started":
      case "run.resumed":
      case "run.forked":
        // A `run.resumed` without a checkpoint is the end of a wait-pause inside a run.
        if (entry.kind === "run.resumed" && !("checkpointId" in (entry.data as object))) break;
        if (open && abandoned > 0) abandoned--;
        else
          expect(open, `${entry.kind} #${entry.seq} starts while another run is open`).toBe(false);
        open = true;
        expect(entry.runId, `${entry.kind} #${entry.seq} names its run`).toEqual(
          expect.any(String),
        );
        runId = entry.runId;
        break;
      case "run.finished":
        expect(open, `run.finished #${entry.seq} without a run`).toBe(true);
        expect(entry.runId, `run.finished #${entry.seq} ends the run that started`).toBe(runId);
        open = false;
        break;
      case "interrupt.received":
        received.add(data.id!);
        break;
      case "interrupt.applied":
      case "interrupt.refused":
      case "interrupt.expired":
      case "interrupt.cleared":
        expect(
          received.has(data.id!),
          `${entry.kind} #${entry.seq} of a message never received`,
        ).toBe(true);
        expect(settled.has(data.id!), `message ${data.id} settled twice`).toBe(false);
        settled.add(data.id!);
        break;
      case "approval.requested":
        requested.add(data.requestId!);
        break;
      case "approval.decided":
        expect(requested.has(data.requestId!), `decision #${entry.seq} answers no request`).toBe(
          true,
        );
        break;
    }
  }
  expect(open, "the last run never finished").toBe(false);
}
