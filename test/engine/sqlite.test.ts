import { silentLogger } from "../../src/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../store/sqlite/temp-db.js";
import { describeEngine } from "./engine-suite.js";

const temp = tempDir("engine");
let path = "";

// A new database file per test, which the test's other processes open again.
describeEngine(
  "SqliteStore",
  () => {
    path = temp.file();
    return SqliteStore.open({ path, logger: silentLogger });
  },
  () => SqliteStore.open({ path, logger: silentLogger }),
);
