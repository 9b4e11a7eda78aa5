import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { Lease } from "../../../src/store/session-store.js";
import { SqliteConnection } from "../../../src/store/sqlite/sqlite-connection.js";
import { SqliteStepMemo, type StepLeft } from "../../../src/store/sqlite/sqlite-step-memo.js";
import { tempDir } from "./temp-db.js";

const temp = tempDir("step-memo-unit");

/** Two connections on one new WAL file with a table to write to. */
function connections() {
  const path = temp.file();
  mkdirSync(dirname(path), { recursive: true });
  const open = () => {
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    return new SqliteConnection(db, 1_000);
  };
  const mine = open();
  mine.db.exec("CREATE TABLE t (x INTEGER)");
  return { mine, other: open() };
}

const lease: Lease = { sessionId: "s", owner: "o", token: "k", expiresAt: 0, ttlMs: 1_000 };
const left: StepLeft = {
  row: {
    lease_token: "k",
    lease_expires_at: 1_000,
    graph: "g",
    status: "running",
    created_at: 1,
    gate: null,
  },
  top: 3,
  plainIds: true,
};

/** One step's transaction: what it recalls, and (unless told not to) what it keeps. */
function step(
  connection: SqliteConnection,
  memo: SqliteStepMemo,
  options: { fail?: boolean } = {},
) {
  let recalled: StepLeft | undefined;
  try {
    connection.write("step", () => {
      recalled = memo.recall(lease);
      memo.keep(lease, left);
      connection.db.prepare("INSERT INTO t VALUES (1)").run();
      if (options.fail) throw new Error("the step's transaction fails after keep()");
    });
  } catch (error) {
    if (!options.fail) throw error;
  }
  return recalled;
}

describe("SqliteStepMemo", () => {
  it("recalls what the last step left while nothing else has written", () => {
    const { mine } = connections();
    const memo = new SqliteStepMemo(mine);
    expect(step(mine, memo)).toBeUndefined();
    expect(step(mine, memo)).toBe(left);
    // Reads in between change nothing.
    mine.read("read", () => mine.db.prepare("SELECT count(*) FROM t").get());
    expect(step(mine, memo)).toBe(left);
  });

  it("forgets it when another connection commits, read with the write lock held", () => {
    const { mine, other } = connections();
    const memo = new SqliteStepMemo(mine);
    step(mine, memo);
    other.write("other", () => other.db.prepare("INSERT INTO t VALUES (2)").run());
    expect(step(mine, memo)).toBeUndefined();
    expect(step(mine, memo)).toBe(left);
  });

  it("forgets it when this connection writes anything else", () => {
    const { mine } = connections();
    const memo = new SqliteStepMemo(mine);
    step(mine, memo);
    mine.write("else", () => mine.db.prepare("DELETE FROM t").run());
    expect(step(mine, memo)).toBeUndefined();
  });

  it("never remembers a step whose transaction rolled back", () => {
    const { mine } = connections();
    const memo = new SqliteStepMemo(mine);
    step(mine, memo, { fail: true });
    expect(step(mine, memo)).toBeUndefined();
    step(mine, memo);
    // A failed step after a remembered one: the one after it reads the database again.
    step(mine, memo, { fail: true });
    expect(step(mine, memo)).toBeUndefined();
  });

  it("is another lease's or session's to read, never this one's", () => {
    const { mine } = connections();
    const memo = new SqliteStepMemo(mine);
    step(mine, memo);
    mine.write("step", () => {
      expect(memo.recall({ ...lease, token: "other" })).toBeUndefined();
    });
    step(mine, memo);
    mine.write("step", () => {
      expect(memo.recall({ ...lease, sessionId: "t" })).toBeUndefined();
    });
  });
});
