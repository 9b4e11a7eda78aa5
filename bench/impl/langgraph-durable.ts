/**
 * The chain of (a) in LangGraph.js with a durable saver: `SqliteSaver` on a better-sqlite3 file
 * (WAL, and synchronous NORMAL like the Trellis store, which is faster than the saver's own
 * default, FULL), or `PostgresSaver` in a schema of its own. Imported only by the processes
 * that measure LangGraph.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { benchDir, benchSchema, DATABASE_URL, dropSchema } from "./durable.js";
import { chainNames, expectCount, type Runner } from "./runner.js";

const State = Annotation.Root({ count: Annotation<number> });
type S = typeof State.State;

interface DynamicGraph {
  addNode(name: string, fn: (state: S) => Partial<S>): unknown;
  addEdge(from: string, to: string): unknown;
  compile(options: { checkpointer: BaseCheckpointSaver }): {
    invoke(
      input: S,
      config: { recursionLimit: number; configurable: { thread_id: string } },
    ): Promise<S>;
  };
}

function chainRunner(
  nodes: number,
  saver: BaseCheckpointSaver,
  bytes: () => Promise<number> | number,
  close: () => Promise<void>,
): Runner {
  const graph = new StateGraph(State) as unknown as DynamicGraph;
  const names = chainNames(nodes);
  for (const name of names) graph.addNode(name, (s) => ({ count: s.count + 1 }));
  graph.addEdge(START, names[0]!);
  names.forEach((name, i) => {
    graph.addEdge(name, names[i + 1] ?? END);
  });
  const compiled = graph.compile({ checkpointer: saver });
  const threadId = "bench";
  const config = { recursionLimit: nodes + 10, configurable: { thread_id: threadId } };
  return {
    steps: nodes,
    async run() {
      const state = await compiled.invoke({ count: 0 }, config);
      expectCount(state.count, nodes, "langgraph");
    },
    checkpointBytes: bytes,
    reset: () => saver.deleteThread(threadId),
    close,
  };
}

/** LangGraph.js with `SqliteSaver` on a new file. */
export async function langgraphSqliteChain(nodes: number): Promise<Runner> {
  const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
  const Database = (await import("better-sqlite3")).default;
  const dir = benchDir("langgraph-sqlite");
  const db = new Database(join(dir, "langgraph.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const saver = new SqliteSaver(db);
  const bytes = () => {
    const row = db
      .prepare(
        "SELECT (SELECT coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM checkpoints) + (SELECT coalesce(sum(length(value)), 0) FROM writes) AS b",
      )
      .get() as { b: number };
    return row.b;
  };
  return chainRunner(nodes, saver, bytes, async () => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

/** LangGraph.js with `PostgresSaver` in a new schema (`setup()` creates its tables). */
export async function langgraphPostgresChain(nodes: number): Promise<Runner> {
  const { PostgresSaver } = await import("@langchain/langgraph-checkpoint-postgres");
  const schema = benchSchema("langgraph");
  const saver = PostgresSaver.fromConnString(DATABASE_URL, { schema });
  await saver.setup();
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const bytes = async () => {
    const s = `"${schema}"`;
    const { rows } = await client.query<{ b: string }>(
      `SELECT (SELECT coalesce(sum(octet_length(checkpoint::text) + octet_length(metadata::text)), 0) FROM ${s}.checkpoints)
        + (SELECT coalesce(sum(octet_length(blob)), 0) FROM ${s}.checkpoint_blobs)
        + (SELECT coalesce(sum(octet_length(blob)), 0) FROM ${s}.checkpoint_writes) AS b`,
    );
    return Number(rows[0]!.b);
  };
  return chainRunner(nodes, saver, bytes, async () => {
    await saver.end();
    await client.end();
    await dropSchema(schema);
  });
}
