import { afterAll } from "vitest";
import { connect, dropSchema, testSchema } from "../store/postgres/test-database.js";
import { describeInterleavings } from "./interleavings.js";

const schema = testSchema("interleavings");
afterAll(async () => {
  await dropSchema(schema);
});

// As many runs as on the other stores (a play takes about 50 ms here). The second service and
// agent connect again, as another process would.
describeInterleavings("PostgresStore", () => connect(schema), {
  runs: 50,
  connectAgain: () => connect(schema),
});
