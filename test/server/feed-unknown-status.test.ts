/**
 * The session feed over a checkpoint whose status cannot be read: the checkpoint is listed,
 * and no `status` event claims a status the row does not hold, read on or reconnected.
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { feedStatusAt, readFeed } from "../../src/server/session-feed.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../store/sqlite/temp-db.js";
import { checkpoint, T0 } from "../store/suite/fixtures.js";

const temp = tempDir("feed-status");

describe("the session feed", () => {
  it("sends no status event for a checkpoint whose status cannot be read", async () => {
    const path = temp.file();
    const store = await SqliteStore.open({ path, logger: silentLogger });
    try {
      await store.commit({
        checkpoints: [
          checkpoint("s1", 1),
          checkpoint("s1", 2, { status: "paused" }),
          checkpoint("s1", 3),
        ],
        now: T0,
      });
      const db = new Database(path);
      try {
        db.prepare("UPDATE checkpoints SET status = 'sleeping' WHERE seq = 2").run();
      } finally {
        db.close();
      }
      const feed = await readFeed(store, "s1", { audit: 0, checkpoint: 0 }, undefined);
      const checkpoints = feed.events.filter((e) => e.event === "checkpoint");
      expect(checkpoints.map((e) => e.data.status)).toEqual(["running", null, "running"]);
      const statuses = feed.events.filter((e) => e.event === "status");
      expect(statuses.map((e) => e.data.status)).toEqual(["running"]);
      expect(feed.lastStatus).toBe("running");
      // A reader that reconnects after the damaged checkpoint stands where one that read on did.
      expect(await feedStatusAt(store, "s1", { audit: 0, checkpoint: 2 })).toBe("running");
      const resumed = await readFeed(store, "s1", { audit: 0, checkpoint: 2 }, "running");
      expect(resumed.events.filter((e) => e.event === "status")).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
