import { silentLogger } from "../../src/logger.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "./sqlite/temp-db.js";
import { describeStore } from "./store-suite.js";

const temp = tempDir("suite");

describeStore("SqliteStore", () => SqliteStore.open({ path: temp.file(), logger: silentLogger }));
