import { silentLogger } from "../../src/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { tempDir } from "../store/sqlite/temp-db.js";
import { describeEngine } from "./engine-suite.js";

const temp = tempDir("engine");

// A new database file per test: every test starts on an empty store.
describeEngine("SqliteStore", () => SqliteStore.open({ path: temp.file(), logger: silentLogger }));
