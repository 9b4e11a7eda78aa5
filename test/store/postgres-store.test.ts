import { afterAll, beforeAll } from "vitest";
import { connect, dropSchema, sql, testSchema, truncate } from "./postgres/test-database.js";
import { describeStore } from "./store-suite.js";

const schema = testSchema("suite");

beforeAll(async () => {
  await (await connect(schema)).close();
});
afterAll(async () => {
  await dropSchema(schema);
});

describeStore(
  "PostgresStore",
  async () => {
    await truncate(schema);
    return connect(schema);
  },
  {
    async checkpoints(assignments, sessionId, seq) {
      await sql(
        `UPDATE "${schema}".checkpoints SET ${assignments}
         WHERE session_id = $1 AND thread = '' AND ($2::bigint IS NULL OR seq = $2::bigint)`,
        [sessionId, seq ?? null],
      );
    },
  },
);
