/**
 * Checkpoints damaged on disk: every way a stored record can be wrong is refused with a
 * `CheckpointCorruptError` that names the session and the checkpoint, resume and getState
 * refuse it, and history() lists the rest of the session with the bad record marked.
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { SqliteStore } from "../../src/entries/sqlite.js";
import { CheckpointCorruptError, END, Graph, GraphAgent, START } from "../../src/index.js";
import { tempDir } from "../store/sqlite/temp-db.js";

const State = z.object({ count: z.number().default(0), log: z.array(z.string()).default([]) });
type State = z.output<typeof State>;
const step = (name: string) => (s: Readonly<State>) => ({ count: s.count + 1, log: [name] });

function chain(nodes: readonly string[]) {
  let graph = new Graph({ state: State, reducers: { log: "append" }, name: "corrupt" });
  for (const node of nodes) graph = graph.addNode(node, step(node));
  graph = graph.addEdge(START, nodes[0]!);
  for (let i = 0; i < nodes.length - 1; i++) graph = graph.addEdge(nodes[i]!, nodes[i + 1]!);
  return graph.addEdge(nodes.at(-1)!, END).compile();
}

const temp = tempDir("corrupt-checkpoints");

/** A session that stopped after `b` (a failure in `c`), with its SQLite file. */
async function stoppedAfterB() {
  const path = temp.file();
  const store = await SqliteStore.open({ path });
  let fail = true;
  const graph = new Graph({ state: State, reducers: { log: "append" }, name: "corrupt" })
    .addNode("a", step("a"))
    .addNode("b", step("b"))
    .addNode("c", (s: Readonly<State>) => {
      if (fail) throw new Error("c is down");
      return step("c")(s);
    })
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile();
  const agent = new GraphAgent({ graph, store });
  const result = await agent.run({}, { sessionId: "s" });
  expect(result.status).toBe("failed");
  fail = false;
  const rows = () =>
    new Database(path)
      .prepare("SELECT seq, id, node, kind FROM checkpoints ORDER BY seq")
      .all() as {
      seq: number;
      id: string;
      node: string | null;
      kind: string;
    }[];
  const sql = (statement: string, ...args: unknown[]) => {
    const db = new Database(path);
    try {
      db.prepare(statement).run(...args);
    } finally {
      db.close();
    }
  };
  return { store, agent, graph, rows, sql, path };
}

async function refusal(promise: Promise<unknown>): Promise<CheckpointCorruptError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointCorruptError);
  const corrupt = error as CheckpointCorruptError;
  expect(corrupt.code).toBe("CHECKPOINT_CORRUPT");
  expect(corrupt.sessionId).toBe("s");
  expect(corrupt.message).toContain("`s`");
  return corrupt;
}

describe("a damaged checkpoint", () => {
  it("with JSON that cannot be parsed is refused as invalid_json, and history marks it", async () => {
    const t = await stoppedAfterB();
    const latest = t.rows().at(-1)!;
    t.sql("UPDATE checkpoints SET payload = '{\"count\": ' WHERE id = ?", latest.id);
    const error = await refusal(t.agent.resume("s"));
    expect(error.reason).toBe("invalid_json");
    expect(error.checkpointId).toBe(latest.id);
    await refusal(t.agent.getState("s"));
    const history = await t.agent.history("s");
    expect(history[0]?.error?.reason).toBe("invalid_json");
    expect(history[0]?.state).toBeUndefined();
    // The records before it are still read.
    expect(history.slice(1).every((entry) => entry.error === undefined)).toBe(true);
    await t.store.close();
  });

  it("written by a newer version is refused as newer_version", async () => {
    const t = await stoppedAfterB();
    const latest = t.rows().at(-1)!;
    t.sql("UPDATE checkpoints SET meta = '{\"v\":99}' WHERE id = ?", latest.id);
    const error = await refusal(t.agent.resume("s"));
    expect(error.reason).toBe("newer_version");
    await t.store.close();
  });

  it("whose meta does not fit the format is refused as invalid_meta", async () => {
    const t = await stoppedAfterB();
    const latest = t.rows().at(-1)!;
    t.sql(
      `UPDATE checkpoints SET meta = '{"v":1,"gate":{"requestId":""},"constructor":1}' WHERE id = ?`,
      latest.id,
    );
    const error = await refusal(t.agent.resume("s"));
    expect(error.reason).toBe("invalid_meta");
    await t.store.close();
  });

  it("whose parent is missing (a broken delta chain) is refused as broken_chain", async () => {
    const t = await stoppedAfterB();
    const rows = t.rows();
    // The latest is a delta on the last full snapshot: without that snapshot it cannot be built.
    expect(rows.at(-1)!.kind).toBe("delta");
    const base = rows.slice(0, -1).findLast((row) => row.kind === "full")!;
    t.sql("DELETE FROM checkpoints WHERE id = ?", base.id);
    const error = await refusal(t.agent.resume("s"));
    expect(error.reason).toBe("broken_chain");
    await t.store.close();
  });

  it("whose state no longer fits the schema is refused as invalid_state", async () => {
    const t = await stoppedAfterB();
    const base = t.rows().findLast((row) => row.kind === "full")!;
    t.sql(`UPDATE checkpoints SET payload = '{"count":"many","log":[]}' WHERE id = ?`, base.id);
    const error = await refusal(t.agent.resume("s"));
    expect(error.reason).toBe("invalid_state");
    await t.store.close();
  });

  it("that names a next node the graph no longer has is refused as unknown_node", async () => {
    const t = await stoppedAfterB();
    await t.store.close();
    const store = await SqliteStore.open({ path: t.path });
    // The same graph name, without `c`: the stored checkpoint still says `c` runs next.
    const agent = new GraphAgent({ graph: chain(["a", "b"]), store });
    const error = await refusal(agent.resume("s"));
    expect(error.reason).toBe("unknown_node");
    expect(error.message).toContain("earlier checkpoint");
    await store.close();
  });

  it("leaves the session as it was, so a resume once the record is repaired finishes it", async () => {
    const t = await stoppedAfterB();
    const latest = t.rows().at(-1)!;
    const db = new Database(t.path);
    const good = db.prepare("SELECT payload FROM checkpoints WHERE id = ?").get(latest.id) as {
      payload: string;
    };
    db.close();
    t.sql("UPDATE checkpoints SET payload = 'nope' WHERE id = ?", latest.id);
    await refusal(t.agent.resume("s"));
    // The refused resume wrote nothing.
    expect(t.rows().at(-1)!.id).toBe(latest.id);
    t.sql("UPDATE checkpoints SET payload = ? WHERE id = ?", good.payload, latest.id);
    const result = await t.agent.resume("s");
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "b", "c"]);
    await t.store.close();
  });
});
