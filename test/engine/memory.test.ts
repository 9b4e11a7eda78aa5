import { MemoryStore, silentLogger } from "../../src/index.js";
import { describeEngine } from "./engine-suite.js";

describeEngine("MemoryStore", async () => new MemoryStore({ logger: silentLogger }));
