import { describe, expect, it } from "vitest";
import type { CheckpointListOptions, StoredRecord } from "../store/checkpoint-store.js";
import type { Store } from "../store/store.js";
import { carriedCancelSeq } from "./carried-cancel.js";

type Status = StoredRecord["status"];

/** A record of session "s" at `seq`; `carried` goes into its meta; `unparsable` drops its meta. */
function record(
  seq: number,
  status: Status,
  options: { carried?: number; unparsable?: boolean } = {},
): StoredRecord {
  const fields = {
    sessionId: "s",
    thread: "",
    id: `c${seq}`,
    seq,
    parentId: seq === 0 ? null : `c${seq - 1}`,
    runId: "r",
    node: null,
    iteration: 0,
    next: [],
    status,
    createdAt: seq,
  };
  if (options.unparsable === true) return { ...fields, kind: "unparsable", problem: "bad JSON" };
  return {
    ...fields,
    kind: "delta",
    delta: [],
    meta: {
      v: 1,
      path: [],
      ...(options.carried === undefined ? {} : { cancelledAtSeq: options.carried }),
    },
  } as StoredRecord;
}

/** A store holding `records` (oldest first) that counts its `list` calls. */
function storeOf(records: readonly StoredRecord[]) {
  const calls: CheckpointListOptions[] = [];
  const store = {
    checkpoints: {
      list: async (_session: string, _thread: string, options: CheckpointListOptions = {}) => {
        calls.push(options);
        const before = options.beforeSeq ?? Number.POSITIVE_INFINITY;
        return records
          .filter((r) => r.seq < before)
          .reverse()
          .slice(0, options.limit);
      },
    },
  } as unknown as Store;
  return { store, calls, latest: records.at(-1) };
}

describe("carriedCancelSeq", () => {
  it("reads the number off the latest checkpoint when that one ended a run, without listing", async () => {
    const { store, calls, latest } = storeOf([
      record(0, "cancelled", { carried: 7 }),
      record(1, "completed", { carried: 7 }),
    ]);
    expect(await carriedCancelSeq(store, "s", latest)).toBe(7);
    expect(calls).toEqual([]);
  });

  it("is undefined for a new session, and for an ended run that carries none", async () => {
    const { store, latest } = storeOf([record(0, "completed")]);
    expect(await carriedCancelSeq(store, "s", undefined)).toBeUndefined();
    expect(await carriedCancelSeq(store, "s", latest)).toBeUndefined();
  });

  it("looks past the steps of a run that wrote no end, page by page, to the last end", async () => {
    const steps = Array.from({ length: 450 }, (_, i) => record(i + 2, "running"));
    const { store, calls, latest } = storeOf([
      record(0, "cancelled", { carried: 3 }),
      record(1, "paused", { carried: 3 }),
      ...steps,
    ]);
    expect(await carriedCancelSeq(store, "s", latest)).toBe(3);
    expect(calls.length).toBe(3);
  });

  it("looks past checkpoints it cannot read", async () => {
    const { store, latest } = storeOf([
      record(0, "cancelled", { carried: 5 }),
      record(1, "failed", { unparsable: true }),
      record(2, "running", { unparsable: true }),
    ]);
    expect(await carriedCancelSeq(store, "s", latest)).toBe(5);
  });

  it("stops at the first run's start when no run ever ended", async () => {
    const steps = Array.from({ length: 200 }, (_, i) => record(i, "running"));
    const { store, latest } = storeOf(steps);
    expect(await carriedCancelSeq(store, "s", latest)).toBeUndefined();
  });
});
