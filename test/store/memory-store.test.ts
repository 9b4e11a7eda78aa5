import { MemoryStore } from "../../src/store/memory-store.js";
import { describeStore } from "./store-suite.js";

describeStore("MemoryStore", () => new MemoryStore());
