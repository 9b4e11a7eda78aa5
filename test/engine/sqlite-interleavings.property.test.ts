import { silentLogger } from "../../src/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../store/sqlite/temp-db.js";
import { describeInterleavings } from "./interleavings.js";

const temp = tempDir("interleavings");
const path = temp.file();

// As many runs as on the memory store (the driver is synchronous, a run costs a few ms); the
// second service and agent open the file again, as another process would.
describeInterleavings("SqliteStore", () => SqliteStore.open({ path, logger: silentLogger }), {
  runs: 50,
  connectAgain: () => SqliteStore.open({ path, logger: silentLogger }),
});
