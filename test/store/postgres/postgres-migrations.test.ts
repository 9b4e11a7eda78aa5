import { afterAll, describe, expect, it } from "vitest";
import { StoreVersionError } from "../../../src/errors.js";
import { SCHEMA_VERSION } from "../../../src/store/postgres/migrations.js";
import { schemaV1 } from "./schema-v1.js";
import { connect, dropSchema, sql, testSchema } from "./test-database.js";

const schemas: string[] = [];
const schema = (purpose: string) => {
  const name = testSchema(purpose);
  schemas.push(name);
  return name;
};
afterAll(async () => {
  for (const name of schemas) await dropSchema(name);
});

const versions = async (name: string) =>
  (
    await sql<{ version: number }>(
      `SELECT version FROM "${name}".schema_migrations ORDER BY version`,
    )
  ).map((row) => row.version);

describe("PostgresStore schema", () => {
  it("creates the schema and every migration on first connect, and nothing on the next", async () => {
    const name = schema("create");
    await (await connect(name)).close();
    expect(await versions(name)).toEqual([1, 2, 3, 4]);
    expect(SCHEMA_VERSION).toBe(4);
    await (await connect(name)).close();
    expect(await versions(name)).toEqual([1, 2, 3, 4]);
  });

  it("opens a version 1 database in the current version, with its data readable", async () => {
    const name = schema("v1");
    await sql(schemaV1(name));
    const store = await connect(name);
    try {
      expect(await versions(name)).toEqual([1, 2, 3, 4]);
      const lineage = await store.checkpoints.lineage("s1", "", "s1#2");
      expect(lineage.map((r) => r.id)).toEqual(["s1#1", "s1#2"]);
      expect(lineage[0]).toMatchObject({ kind: "full", state: { topic: "tea", notes: [] } });
      expect(await store.sessions.get("s1")).toMatchObject({
        graph: "writer",
        status: "paused",
        gate: { requestId: "r1" },
      });
      expect((await store.interrupts.list("s1")).items).toEqual([
        expect.objectContaining({ id: "m1", seq: 1, action: { type: "approve" } }),
      ]);
      expect(await store.interrupts.stats("s1")).toMatchObject({ queued: 1, depth: 1, lastSeq: 1 });
      // The lease written before version 2 has no holder connection: it runs until it expires.
      const request = { sessionId: "s1", owner: "new", ttlMs: 1_000 };
      expect(
        (await store.sessions.acquire({ ...request, token: "t1", now: 1_700_000_029_999 })).ok,
      ).toBe(false);
      expect(
        (await store.sessions.acquire({ ...request, token: "t2", now: 1_700_000_030_000 })).ok,
      ).toBe(true);
      expect(await store.audit.append({ sessionId: "s1", at: 1, kind: "custom.after" })).toBe(2);
      // The webhook outbox of version 4 is there, empty.
      expect((await store.deliveries.list()).total).toBe(0);
      const delivery = { url: "https://h.example", type: "t", sessionId: "s1", body: "{}" };
      expect(
        await store.deliveries.add([{ ...delivery, id: "d1", checkpointId: "s1#2" }], 1),
      ).toEqual(["d1"]);
    } finally {
      await store.close();
    }
  });

  it("refuses a database of a newer version and changes nothing", async () => {
    const name = schema("newer");
    await (await connect(name)).close();
    await sql(`INSERT INTO "${name}".schema_migrations VALUES (99, 'from the future', 0)`);
    const before = await sql(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1`, [name]);
    const error = await connect(name).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreVersionError);
    expect(error).toMatchObject({ found: 99, supported: SCHEMA_VERSION });
    expect(await versions(name)).toEqual([1, 2, 3, 4, 99]);
    expect(await sql(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1`, [name])).toEqual(
      before,
    );
  });

  it("migrates once when several stores of one process connect at the same moment", async () => {
    const name = schema("race");
    const stores = await Promise.all(Array.from({ length: 4 }, () => connect(name)));
    await Promise.all(stores.map((store) => store.close()));
    expect(await versions(name)).toEqual([1, 2, 3, 4]);
  });
});
