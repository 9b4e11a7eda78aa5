import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { connect, dropSchema, testSchema } from "../store/postgres/test-database.js";
import { describeProcesses } from "./process/process-cases.js";

const schema = testSchema("engine_processes");
const dir = mkdtempSync(join(tmpdir(), "trellis-engine-processes-"));
let logs = 0;
beforeAll(async () => {
  await (await connect(schema)).close();
});
afterAll(async () => {
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

// One schema for the file, shared by every test's processes; sessions are the tests' own.
describeProcesses({
  name: "postgres",
  target: () => schema,
  open: (target) => connect(target),
  // A session's lease is tied to its holder's connection: it ends when the process dies.
  leaseOutlivesProcess: false,
  logFile: () => join(dir, `executions-${++logs}.log`),
});
