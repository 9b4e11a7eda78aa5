import { afterAll, beforeAll } from "vitest";
import { connect, dropSchema, testSchema, truncate } from "./postgres/test-database.js";
import { describeStore } from "./store-suite.js";

const schema = testSchema("suite");

beforeAll(async () => {
  await (await connect(schema)).close();
});
afterAll(async () => {
  await dropSchema(schema);
});

describeStore("PostgresStore", async () => {
  await truncate(schema);
  return connect(schema);
});
