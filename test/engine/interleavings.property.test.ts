import { MemoryStore, silentLogger } from "../../src/index.js";
import { describeInterleavings } from "./interleavings.js";

describeInterleavings("MemoryStore", async () => new MemoryStore({ logger: silentLogger }), {
  runs: 50,
});
