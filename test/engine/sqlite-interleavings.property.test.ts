import { silentLogger } from "../../src/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../store/sqlite/temp-db.js";
import { describeInterleavings } from "./interleavings.js";

const temp = tempDir("interleavings");

// As many runs as on the memory store: the driver is synchronous, a run costs about 7 ms.
describeInterleavings(
  "SqliteStore",
  () => SqliteStore.open({ path: temp.file(), logger: silentLogger }),
  { runs: 50 },
);
