import { silentLogger } from "../../src/logger.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeStore } from "./store-suite.js";

describeStore("MemoryStore", () => new MemoryStore({ logger: silentLogger }));
