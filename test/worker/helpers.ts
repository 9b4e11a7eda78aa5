import { InterruptService } from "../../src/interrupts/interrupt-service.js";
import { silentLogger } from "../../src/logger.js";
import type { AnyAgent } from "../../src/run/define-agents.js";
import type { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { PgBossDispatcher } from "../../src/worker/pg-boss-dispatcher.js";
import {
  connect,
  DATABASE_URL,
  dropSchema,
  sql,
  testSchema,
} from "../store/postgres/test-database.js";
import buildAgents, { effectTables } from "./fixtures/agents.js";

/** A schema of the test's own with a store, its effect tables, a queue and the fixture agents. */
export interface Setup {
  readonly schema: string;
  readonly store: PostgresStore;
  readonly interrupts: InterruptService;
  readonly dispatcher: PgBossDispatcher;
  readonly agents: Readonly<Record<string, AnyAgent>>;
  close(): Promise<void>;
}

/** `process.env.TRELLIS_TEST_SCHEMA` must be set before the fixture module is imported. */
export async function setUp(schema: string): Promise<Setup> {
  const store = await connect(schema);
  await sql(effectTables(schema));
  const interrupts = new InterruptService({ store, logger: silentLogger });
  const dispatcher = await PgBossDispatcher.connect({
    connectionString: DATABASE_URL,
    schema: `${schema}_jobs`,
    jobExpireSeconds: 2,
    maintenanceIntervalSeconds: 1,
    logger: silentLogger,
  });
  const built = await buildAgents({ store, interrupts });
  const agents = built as Readonly<Record<string, AnyAgent>>;
  return {
    schema,
    store,
    interrupts,
    dispatcher,
    agents,
    async close() {
      await dispatcher.close();
      await store.close();
      await dropSchema(`${schema}_jobs`);
      await dropSchema(schema);
    },
  };
}

/** Names the schema (and so the effect tables) before the fixture module reads it. */
export function claimSchema(purpose: string): string {
  const schema = testSchema(purpose);
  process.env.TRELLIS_TEST_SCHEMA = schema;
  return schema;
}

/** Polls until `check` is true, or fails after `timeoutMs`. */
export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What every finished session must show, whatever crashed on the way. */
export async function checkSessions(
  setup: Setup,
  sessions: readonly string[],
  expected: (sessionId: string) => unknown,
): Promise<void> {
  const { schema, store } = setup;
  for (const sessionId of sessions) {
    const summary = await store.sessions.get(sessionId);
    if (summary?.status !== "completed") {
      throw new Error(`${sessionId} is ${summary?.status ?? "missing"}`);
    }
    const latest = await store.checkpoints.latest(sessionId, "");
    const agent = setup.agents[summary.graph]!;
    const state = (await agent.getState(sessionId))!.state;
    if (stable(state) !== stable(expected(sessionId))) {
      throw new Error(`${sessionId} ended with ${JSON.stringify(state)}`);
    }
    // The lineage is whole: from the latest checkpoint back to the first, every parent exists.
    const all = await store.checkpoints.list(sessionId, "", { limit: 1_000 });
    const byId = new Map(all.map((record) => [record.id, record]));
    let at = latest;
    let steps = 0;
    while (at !== undefined && at.parentId !== null) {
      const parent = byId.get(at.parentId);
      if (parent === undefined) throw new Error(`${sessionId}: ${at.id} has lost its parent`);
      at = parent;
      steps++;
    }
    if (steps === 0) throw new Error(`${sessionId}: no lineage`);
    for (const record of all) {
      if (record.parentId !== null && !byId.has(record.parentId)) {
        throw new Error(`${sessionId}: ${record.id} has lost its parent`);
      }
    }
    // One side effect per node, however often a node ran: keyed by ctx.idempotencyKey.
    const effects = await sql<{ node: string }>(
      `SELECT node FROM "${schema}".effects WHERE session = $1 ORDER BY node`,
      [sessionId],
    );
    if (effects.map((e) => e.node).join() !== "a,b,c") {
      throw new Error(`${sessionId}: effects ${effects.map((e) => e.node).join()}`);
    }
    // No node ran again after its checkpoint was written.
    const late = await sql<{ node: string }>(
      `SELECT e.node FROM "${schema}".executions e JOIN "${schema}".checkpoints c
         ON c.session_id = e.session AND c.thread = '' AND c.node = e.node
       WHERE e.session = $1 AND e.started_at > c.created_at`,
      [sessionId],
    );
    if (late.length > 0) {
      throw new Error(`${sessionId}: ${late.map((l) => l.node).join()} ran after its checkpoint`);
    }
  }
}

/** What is unfinished in a schema: sessions not completed, and their jobs, for a failure message. */
export async function diagnose(schema: string): Promise<string> {
  const sessions = await sql<{ session_id: string }>(
    `SELECT session_id, status, gate IS NOT NULL AS gated FROM "${schema}".sessions WHERE status <> 'completed'`,
  );
  const ids = sessions.map((row) => row.session_id);
  const jobs = await sql(
    `SELECT name, state, data->>'kind' AS kind, data->>'sessionId' AS session, output, retry_count
     FROM "${schema}_jobs".job WHERE data->>'sessionId' = ANY($1) ORDER BY created_on`,
    [ids],
  );
  const queued = await sql(
    `SELECT session_id, state, claimed_by, outcome FROM "${schema}".interrupts WHERE session_id = ANY($1)`,
    [ids],
  ).catch((error: unknown) => [String(error)]);
  const leases = await sql(`SELECT * FROM "${schema}".leases WHERE session_id = ANY($1)`, [ids]);
  return JSON.stringify({ sessions, jobs, queued, leases }, null, 1);
}

function stable(value: unknown): string {
  const record = value as Record<string, unknown>;
  return JSON.stringify(record, Object.keys(record).sort());
}

/** The state a flow session ends with when nothing goes wrong. */
export function flowEnd(seed: number) {
  return { log: ["a", "b", "c"], total: 111 * (seed + 1), seed };
}

export { DATABASE_URL, sql };
