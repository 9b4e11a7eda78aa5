import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CheckpointCorruptError, END, Graph, GraphAgent, START } from "../../../src/index.js";
import type { CheckpointStatus, StoredRecord } from "../../../src/store/checkpoint-store.js";
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

    /**
     * Damages seq 2 of the session and expects every read to give it back as unparsable, with
     * `status` as read (`null` when the status itself is damaged).
     */
    async function expectUnparsable(
      assignments: string,
      problem: RegExp,
      status: CheckpointStatus | null = "running",
    ): Promise<void> {
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
          status,
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

    it("gives back a row with an unknown status as unparsable, with no status", async () => {
      await expectUnparsable(
        "status = 'sleeping'",
        /^status is sleeping, not one of running, paused, completed, failed, cancelled, rejected$/,
        null,
      );
      // The status is what the row names as unreadable; it is never taken for the delta's kind.
      const [latest, oldest] = await store().checkpoints.list("s1", "");
      expect(latest).toMatchObject({ kind: "unparsable", status: null, next: [] });
      expect(oldest).toMatchObject({ kind: "full", status: "running" });
    });

    it("lists the rest of a session whose latest status is unknown, and neither resumes nor starts over it", async () => {
      const State = z.object({ log: z.array(z.string()).default([]) });
      let down = true;
      const graph = new Graph({ state: State, reducers: { log: "append" }, name: "damaged" })
        .addNode("a", () => ({ log: ["a"] }))
        .addNode("b", () => {
          if (down) throw new Error("b is down");
          return { log: ["b"] };
        })
        .addEdge(START, "a")
        .addEdge("a", "b")
        .addEdge("b", END)
        .compile();
      const agent = new GraphAgent({ graph, store: store() });
      expect((await agent.run({}, { sessionId: "s1" })).status).toBe("failed");
      down = false;
      const before = await store().checkpoints.latest("s1", "");
      expect(before?.status).toBe("failed");
      await damage.checkpoints("status = 'sleeping'", "s1", before!.seq);

      const history = await agent.history("s1");
      expect(history[0]).toMatchObject({ id: before!.id, status: null, state: undefined });
      expect(history[0]?.error).toBeInstanceOf(CheckpointCorruptError);
      expect(history[0]?.error?.reason).toBe("invalid_json");
      expect(history[0]?.error?.message).toContain("status is sleeping");
      expect(history.length).toBeGreaterThan(1);
      for (const entry of history.slice(1)) {
        expect(entry.error).toBeUndefined();
        expect(entry.state).toBeDefined();
      }

      // Neither a resume nor a new run takes the unknown status for one it can act on.
      const refusals = [
        () => agent.resume("s1"),
        () => agent.getState("s1"),
        () => agent.run({}, { sessionId: "s1" }),
      ];
      for (const refused of refusals) {
        const error = await refused().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(CheckpointCorruptError);
        expect((error as CheckpointCorruptError).checkpointId).toBe(before!.id);
        expect((error as Error).message).toContain("status is sleeping");
      }
      expect((await store().checkpoints.latest("s1", ""))?.id).toBe(before!.id);

      // Starting over is the caller's own choice, and runs a new run after the damaged row.
      const over = await agent.run({}, { sessionId: "s1", startOver: true });
      expect(over.status).toBe("completed");
      expect(over.state.log).toEqual(["a", "b"]);
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
