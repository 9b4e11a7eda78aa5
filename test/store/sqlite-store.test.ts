import Database from "better-sqlite3";
import { silentLogger } from "../../src/logger.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "./sqlite/temp-db.js";
import { describeStore } from "./store-suite.js";

const temp = tempDir("suite");
/** The file of the store made last. */
let path = "";

describeStore(
  "SqliteStore",
  () => {
    path = temp.file();
    return SqliteStore.open({ path, logger: silentLogger });
  },
  {
    async checkpoints(assignments, sessionId, seq) {
      const db = new Database(path);
      try {
        db.prepare(
          `UPDATE checkpoints SET ${assignments} WHERE session_id = ? AND thread = '' AND (? IS NULL OR seq = ?)`,
        ).run(sessionId, seq ?? null, seq ?? null);
      } finally {
        db.close();
      }
    },
  },
);
