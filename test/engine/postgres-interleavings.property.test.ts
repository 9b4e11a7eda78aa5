import { afterAll } from "vitest";
import { connect, dropSchema, testSchema } from "../store/postgres/test-database.js";
import { describeInterleavings } from "./interleavings.js";

const schema = testSchema("interleavings");
afterAll(async () => {
  await dropSchema(schema);
});

// Fewer runs than on the memory store: each store call is a round trip to the server.
// The second service and agent connect again, as another process would.
describeInterleavings("PostgresStore", () => connect(schema), {
  runs: 30,
  connectAgain: () => connect(schema),
});
