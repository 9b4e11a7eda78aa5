/**
 * The plans PostgreSQL settles on for the checkpoint statements. A named statement is planned
 * for its parameters the first five times and then, usually, once for all (the generic plan),
 * which knows nothing of the session it is given. Each check of a step must stay a probe of an
 * index in that plan too, or a step costs more the more checkpoints the thread holds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeAudit } from "../../../src/store/postgres/audit-insert.js";
import { checkpointInsert } from "../../../src/store/postgres/checkpoint-insert.js";
import type { Statement } from "../../../src/store/postgres/database.js";
import { encodeCheckpoints } from "../../../src/store/postgres/encoded-checkpoints.js";
import { quoteIdent } from "../../../src/store/postgres/identifier.js";
import type { PostgresStore } from "../../../src/store/postgres/postgres-store.js";
import { stepInsert } from "../../../src/store/postgres/step-insert.js";
import type { Lease } from "../../../src/store/session-store.js";
import { checkpoint, lease, T0 } from "../suite/fixtures.js";
import { connect, DATABASE_URL, dropSchema, testSchema } from "./test-database.js";

const schema = testSchema("plans");
const STORED = 400;
let store: PostgresStore;
let held: Lease;

beforeAll(async () => {
  store = await connect(schema);
  held = await lease(store, "s");
  // One session holding every row, the table's statistics up to date: the planner's estimate
  // for "the checkpoints of a thread" is then the whole table, which is when a scan looks cheap.
  for (let seq = 1; seq <= STORED; seq += 50) {
    const records = Array.from({ length: 50 }, (_, i) => checkpoint("s", seq + i));
    await store.commit({ lease: held, checkpoints: records, now: T0 });
  }
  await query(`ANALYZE ${quoteIdent(schema)}.checkpoints`);
});
afterAll(async () => {
  await store?.close();
  await dropSchema(schema);
});

/** Runs statements on one connection of its own, which is then closed. */
async function query(...texts: string[]): Promise<unknown[][]> {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const results: unknown[][] = [];
    for (const text of texts) results.push((await client.query(text)).rows);
    return results;
  } finally {
    await client.end();
  }
}

interface PlanNode {
  readonly "Node Type": string;
  readonly "Relation Name"?: string;
  readonly "Index Name"?: string;
  readonly Plans?: readonly PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  // An empty ARRAY[] has no type; the untyped '{}' takes the parameter's.
  if (Array.isArray(value)) {
    return value.length === 0 ? "'{}'" : `ARRAY[${value.map(literal).join(", ")}]`;
  }
  return `'${String(value).replaceAll("'", "''")}'`;
}

/** The plan nodes of `statement`'s generic plan (it is explained, not run). */
async function genericPlan(statement: Statement): Promise<PlanNode[]> {
  const values = (statement.values ?? []).map(literal).join(", ");
  const results = await query(
    "SET plan_cache_mode = force_generic_plan",
    `PREPARE planned AS ${statement.text}`,
    `EXPLAIN (FORMAT JSON) EXECUTE planned(${values})`,
  );
  const [row] = results[2] as [{ "QUERY PLAN": [{ Plan: PlanNode }] }];
  return nodes(row["QUERY PLAN"][0].Plan);
}

function scansOfCheckpoints(plan: PlanNode[]): string[] {
  return plan
    .filter((n) => n["Relation Name"] === "checkpoints" && n["Node Type"] !== "ModifyTable")
    .map((n) => `${n["Node Type"]}${n["Index Name"] ? ` using ${n["Index Name"]}` : ""}`);
}

describe("PostgresStore: generic plans of the checkpoint statements", () => {
  const s = quoteIdent(schema);
  const next = () => encodeCheckpoints([checkpoint("s", STORED + 1)]);
  const pair = () => encodeCheckpoints([checkpoint("s", STORED + 1), checkpoint("s", STORED + 2)]);
  // With an iteration: the literal of an array of nulls would be text[], not integer[].
  const entries = () =>
    encodeAudit([{ sessionId: "s", at: T0, kind: "run.started", runId: "r", iteration: 0 }]);
  const statements: [string, () => Statement][] = [
    ["the step statement", () => stepInsert(s, next(), held, T0, false)],
    [
      "the statement for one checkpoint",
      () => checkpointInsert(s, "events", next(), held, T0, true),
    ],
    ["the statement for a batch", () => checkpointInsert(s, "events", pair(), held, T0, true)],
    [
      "the statement for one checkpoint with audit entries",
      () => checkpointInsert(s, "events", next(), held, T0, true, false, entries()),
    ],
    [
      "the statement for a batch with audit entries",
      () => checkpointInsert(s, "events", pair(), held, T0, true, false, entries()),
    ],
  ];

  it.each(statements)("%s reads checkpoints only through the primary key", async (_, build) => {
    const scans = scansOfCheckpoints(await genericPlan(build()));
    expect(scans.length).toBeGreaterThan(0);
    for (const scan of scans) expect(scan).toMatch(/^(Index|Index Only) Scan.* using \S*pkey$/);
  });
});
