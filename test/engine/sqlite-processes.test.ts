import { join } from "node:path";
import { silentLogger } from "../../src/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../store/sqlite/temp-db.js";
import { describeProcesses } from "./process/process-cases.js";

const temp = tempDir("engine-processes");
let logs = 0;

// A database file per test, shared by the test's processes.
describeProcesses({
  name: "sqlite",
  target: () => temp.file(),
  open: (path) => SqliteStore.open({ path, logger: silentLogger }),
  leaseOutlivesProcess: true,
  logFile: () => join(temp.dir, `executions-${++logs}.log`),
});
