/**
 * What `stepCommit` promises when the database server itself crashes, checked against a real
 * crash: a private cluster (`private-cluster.ts`) is killed with SIGKILL in the middle of a
 * run, restarted (crash recovery runs) and the run resumed from a new store.
 *
 * - `"fast"`: the last running steps, committed without waiting for the disk, are gone, yet the
 *   history is a prefix of what was committed, and the resumed run runs the lost nodes again
 *   under the keys they had.
 * - `"durable"`: every step whose commit returned is there after the crash.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, GraphAgent, START, silentLogger } from "../../../src/index.js";
import type { CheckpointRecord } from "../../../src/store/checkpoint-store.js";
import { PostgresStore } from "../../../src/store/postgres/postgres-store.js";
import { PrivateCluster, privateClusterUnavailable } from "./private-cluster.js";

const NODES = 40;
/** The node inside which the server dies: the steps before it were committed. */
const CRASH_IN = 30;
/** Longer than the test: a resume that gets the lease took it over, it did not wait it out. */
const LEASE_TTL_MS = 120_000;

const unavailable = await privateClusterUnavailable();
if (unavailable !== undefined) {
  console.warn(`Skipping the PostgreSQL server-crash tests: ${unavailable}.`);
}
const describeWithCluster = unavailable === undefined ? describe : describe.skip;

const names = Array.from({ length: NODES }, (_, i) => `n${String(i + 1).padStart(2, "0")}`);

const ChainState = z.object({ visited: z.array(z.string()).default([]) });

interface Execution {
  readonly node: string;
  readonly key: string;
}

/** A chain of {@link NODES} nodes; each logs its execution, waits 2 ms and adds its name. */
function chainAgent(store: PostgresStore, log: Execution[], inNode: (node: string) => unknown) {
  let graph = new Graph({ state: ChainState, reducers: { visited: "append" }, name: "chain" });
  for (const name of names) {
    graph = graph.addNode(name, async (_state, ctx) => {
      log.push({ node: name, key: ctx.idempotencyKey });
      await inNode(name);
      await new Promise((resolve) => setTimeout(resolve, 2));
      return { visited: [name] };
    });
  }
  graph = graph.addEdge(START, names[0]!);
  for (let i = 1; i < NODES; i++) graph = graph.addEdge(names[i - 1]!, names[i]!);
  graph = graph.addEdge(names.at(-1)!, END);
  return new GraphAgent({
    graph: graph.compile(),
    store,
    logger: silentLogger,
    leaseTtlMs: LEASE_TTL_MS,
    maxIterations: 2 * NODES,
  });
}

/** The session's history, oldest first, checked to be one unbroken chain. */
async function history(store: PostgresStore, sessionId: string): Promise<CheckpointRecord[]> {
  const records = (await store.checkpoints.list(sessionId, "")).reverse();
  expect(records.length).toBeGreaterThan(0);
  for (const [i, record] of records.entries()) {
    expect(record.kind, `checkpoint ${record.id} is readable`).not.toBe("unparsable");
    expect(record.seq, "seqs without a gap").toBe(records[0]!.seq + i);
    expect(record.parentId, `the parent of ${record.id}`).toBe(i === 0 ? null : records[i - 1]!.id);
  }
  return records as CheckpointRecord[];
}

/** The nodes whose steps the history holds, in order. */
function steps(records: readonly CheckpointRecord[]): string[] {
  return records.flatMap((record) => (record.node === null ? [] : [record.node]));
}

/** Each node's keys, in the order it ran. */
function keysByNode(log: readonly Execution[]): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const { node, key } of log) keys.set(node, [...(keys.get(node) ?? []), key]);
  return keys;
}

describeWithCluster("PostgresStore: a crash of the database server", () => {
  const cluster = new PrivateCluster();

  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
  });

  const open = (schema: string, stepCommit: "fast" | "durable") =>
    PostgresStore.connect({
      connectionString: cluster.url,
      schema,
      stepCommit,
      logger: silentLogger,
      connectTimeoutMs: 5_000,
    });

  /**
   * Runs the chain until the server dies inside node {@link CRASH_IN}, restarts the server and
   * resumes the session from a new store to its end.
   */
  async function crashAndResume(stepCommit: "fast" | "durable") {
    const schema = `crash_${stepCommit}`;
    const sessionId = `chain-${stepCommit}`;
    const log: Execution[] = [];
    const before = await open(schema, stepCommit);
    const crashed = await chainAgent(before, log, async (node) => {
      if (node === names[CRASH_IN - 1] && log.length === CRASH_IN) await cluster.crash();
    }).run({}, { sessionId });
    await before.close();
    await cluster.restart();

    const after = await open(schema, stepCommit);
    try {
      const survived = await history(after, sessionId);
      const summary = await after.sessions.get(sessionId);
      const started = performance.now();
      const resumed = await chainAgent(after, log, () => {}).resume(sessionId);
      const resumeMs = performance.now() - started;
      return { crashed, survived, summary, resumed, resumeMs, log };
    } finally {
      await after.close();
    }
  }

  it('loses the last running steps with stepCommit "fast", keeps a consistent prefix and runs them again', async () => {
    const { crashed, survived, summary, resumed, resumeMs, log } = await crashAndResume("fast");

    expect(crashed.status).toBe("failed");
    expect(crashed.error).toMatchObject({
      name: "StoreUnavailableError",
      code: "STORE_UNAVAILABLE",
    });

    // (a) A prefix of the run: the summary row names its latest checkpoint.
    const stored = steps(survived);
    expect(stored).toEqual(names.slice(0, stored.length));
    expect(summary).toMatchObject({
      status: "running",
      checkpointId: survived.at(-1)!.id,
      updatedAt: survived.at(-1)!.createdAt,
    });
    // (b) Steps whose commits had returned are gone: the crash hit asynchronous commits.
    const committed = CRASH_IN - 1;
    const lost = committed - stored.length;
    console.info(
      `stepCommit "fast": ${committed} steps committed before the crash, ${stored.length} survived it, ${lost} lost; the resume took the lease over in ${Math.round(resumeMs)} ms`,
    );
    expect(lost).toBeGreaterThan(0);

    // (c) The resumed run takes the dead run's lease over at once and ends where the run would.
    expect(resumeMs).toBeLessThan(LEASE_TTL_MS / 2);
    expect(resumed.status).toBe("completed");
    expect(resumed.state.visited).toEqual(names);
    expect(resumed.path).toEqual(names);

    // (d) The nodes after the last surviving step ran again, each under the key it had: a
    // step's key derives from the last checkpoint that changed the run's course (here the
    // run's start, which waited for the disk), never from a step's checkpoint the crash can
    // take. Every other node ran once.
    const keys = keysByNode(log);
    const again = names.slice(stored.length, CRASH_IN);
    expect(again.length).toBeGreaterThan(1);
    for (const name of names) {
      expect(keys.get(name)?.length, `executions of ${name}`).toBe(again.includes(name) ? 2 : 1);
      expect(new Set(keys.get(name)).size, `keys of ${name}`).toBe(1);
    }
    expect(new Set(log.map((e) => e.key)).size).toBe(names.length);
  });

  it('keeps every step whose commit returned with stepCommit "durable"', async () => {
    const { crashed, survived, resumed, log } = await crashAndResume("durable");

    expect(crashed.error).toMatchObject({ name: "StoreUnavailableError" });
    expect(steps(survived)).toEqual(names.slice(0, CRASH_IN - 1));
    expect(resumed.status).toBe("completed");
    expect(resumed.state.visited).toEqual(names);
    // Only the node in flight at the crash ran again, under its key.
    const keys = keysByNode(log);
    expect(keys.get(names[CRASH_IN - 1]!)).toHaveLength(2);
    expect(new Set(keys.get(names[CRASH_IN - 1]!)).size).toBe(1);
    expect(log).toHaveLength(NODES + 1);
  });
});
