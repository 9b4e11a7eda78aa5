import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CHECKPOINT_META_VERSION,
  type CheckpointMeta,
  keyBaseField,
  keyBaseOf,
  namesKeyBase,
} from "./checkpoint-meta.js";

/** A record of run `runId` whose meta names `base` as its key base. */
function naming(base: string, runId: string) {
  const meta: CheckpointMeta = { v: CHECKPOINT_META_VERSION, ...keyBaseField(base, runId) };
  return { id: `${runId}.99`, runId, meta };
}

describe("a checkpoint's key base in its meta", () => {
  it("names a checkpoint of the same run by its seq, and reads it back as the same id", () => {
    expect(keyBaseField("run-1.0", "run-1")).toEqual({ keySeq: 0 });
    expect(keyBaseField("run-1.42", "run-1")).toEqual({ keySeq: 42 });
    expect(keyBaseOf(naming("run-1.42", "run-1"))).toBe("run-1.42");
  });

  it.each([
    ["another run's checkpoint", "run-2.3", "run-1"],
    ["a run id that is a prefix of the base's", "run-10.3", "run-1"],
    ["a seq with a leading zero", "run-1.03", "run-1"],
    ["a seq past 2^53", "run-1.9007199254740993", "run-1"],
    ["an id not of the form <run>.<seq>", "imported-checkpoint", "run-1"],
    ["the run id alone with a dot", "run-1.", "run-1"],
  ])("names %s by its id", (_, base, runId) => {
    expect(keyBaseField(base, runId)).toEqual({ keyFrom: base });
    expect(keyBaseOf(naming(base, runId))).toBe(base);
  });

  it("reads back every base it names, whatever the ids", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (base, runId) => {
        expect(keyBaseOf(naming(base, runId))).toBe(base);
      }),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.nat(), (runId, seq) => {
        expect(keyBaseOf(naming(`${runId}.${seq}`, runId))).toBe(`${runId}.${seq}`);
      }),
    );
  });

  it("takes a checkpoint whose meta names no base as the base itself", () => {
    const meta: CheckpointMeta = { v: CHECKPOINT_META_VERSION };
    const record = { id: "run-1.7", runId: "run-1", meta };
    expect(keyBaseOf(record)).toBe("run-1.7");
    expect(namesKeyBase(record.meta)).toBe(false);
    expect(namesKeyBase(naming("run-1.0", "run-1").meta)).toBe(true);
    expect(namesKeyBase(naming("other", "run-1").meta)).toBe(true);
  });
});
