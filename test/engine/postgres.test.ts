import { afterAll, beforeAll } from "vitest";
import { connect, dropSchema, testSchema, truncate } from "../store/postgres/test-database.js";
import { describeEngine } from "./engine-suite.js";

const schema = testSchema("engine");

beforeAll(async () => {
  await (await connect(schema)).close();
});
afterAll(async () => {
  await dropSchema(schema);
});

// One schema for the file, emptied before each test; the test's other processes connect again.
describeEngine(
  "PostgresStore",
  async () => {
    await truncate(schema);
    return connect(schema);
  },
  () => connect(schema),
);
