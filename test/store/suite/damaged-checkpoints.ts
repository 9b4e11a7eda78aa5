import { describe, expect, it } from "vitest";
import { StoreCorruptError } from "../../../src/errors.js";
import type { StoredRecord } from "../../../src/store/checkpoint-store.js";
import type { Store } from "../../../src/store/store.js";
import { checkpoint, T0 } from "./fixtures.js";

/**
 * Writing rows a store never writes itself, through a connection of the backend's own. Only the
 * SQL backends have one; the memory store keeps records, not rows.
 */
export interface RowDamage {
  /**
   * Runs `UPDATE checkpoints SET <assignments>` on the database, on the rows of the session and
   * thread `""` (all of them, or only the one at `seq`).
   */
  checkpoints(assignments: string, sessionId: string, seq?: number): Promise<void>;
}

/** Every way of reading a checkpoint: by id, the latest, the list and the lineage. */
async function everyRead(store: Store, sessionId: string): Promise<StoredRecord[]> {
  const id = `${sessionId}|#2`;
  const byId = await store.checkpoints.get(sessionId, "", id);
  const latest = await store.checkpoints.latest(sessionId, "");
  const listed = await store.checkpoints.list(sessionId, "");
  const lineage = await store.checkpoints.lineage(sessionId, "", id);
  return [byId!, latest!, listed[0]!, lineage.at(-1)!];
}

export function damagedCheckpointCases(store: () => Store, damage: RowDamage): void {
  describe("damaged checkpoint rows", () => {
    const commit = (sessionId: string) =>
      store().commit({
        checkpoints: [checkpoint(sessionId, 1), checkpoint(sessionId, 2)],
        now: T0,
      });

    /** Damages seq 2 of the session and expects every read to give it back as unparsable. */
    async function expectUnparsable(assignments: string, problem: RegExp): Promise<void> {
      await commit("s1");
      await commit("s2");
      await damage.checkpoints(assignments, "s1", 2);
      for (const record of await everyRead(store(), "s1")) {
        expect(record).toMatchObject({
          sessionId: "s1",
          thread: "",
          id: "s1|#2",
          seq: 2,
          parentId: "s1|#1",
          runId: "run-1",
          node: "node-2",
          iteration: 1,
          status: "running",
          createdAt: T0 + 2,
          kind: "unparsable",
        });
        expect(record.kind === "unparsable" && record.problem).toMatch(problem);
        expect(record.meta).toBeUndefined();
      }
      // The rest of the history, and other sessions, read as they were written.
      const [, oldest] = await store().checkpoints.list("s1", "");
      expect(oldest?.kind).toBe("full");
      expect((await store().checkpoints.latest("s2", ""))?.kind).toBe("delta");
    }

    it("refuses a row with an unknown status as StoreCorruptError on every read", async () => {
      await commit("s1");
      await damage.checkpoints("status = 'sleeping'", "s1");
      const reads = [
        () => store().checkpoints.get("s1", "", "s1|#1"),
        () => store().checkpoints.latest("s1", ""),
        () => store().checkpoints.list("s1", ""),
        () => store().checkpoints.lineage("s1", "", "s1|#2"),
      ];
      for (const read of reads) {
        const error = await read().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreCorruptError);
        expect((error as Error).message).toMatch(/status is sleeping/);
        expect((error as Error).message).toContain('"s1"');
      }
    });

    it("gives back a row whose next nodes hold a non-string as unparsable, with no next nodes", async () => {
      await expectUnparsable(`next = '["a", 1]'`, /next is not a list of node names/);
      const record = await store().checkpoints.get("s1", "", "s1|#2");
      expect(record?.next).toEqual([]);
    });

    it("gives back a row whose payload is not valid JSON as unparsable", async () => {
      await expectUnparsable(`payload = '[["count", "set"'`, /payload is not valid JSON/);
    });

    it("gives back a row of an unknown kind as unparsable", async () => {
      await expectUnparsable(`kind = 'sideways'`, /kind is sideways/);
    });

    it("gives back a row whose meta is not an object as unparsable, keeping its next nodes", async () => {
      await expectUnparsable(`meta = '[1]'`, /meta is not an object/);
      const record = await store().checkpoints.get("s1", "", "s1|#2");
      expect(record?.next).toEqual(["node-3"]);
    });

    it("gives back a delta row whose payload is an object as unparsable", async () => {
      await expectUnparsable(`payload = '{"count": 2}'`, /payload is not a list/);
    });
  });
}
