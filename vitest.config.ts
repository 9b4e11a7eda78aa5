import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  ssr: {
    resolve: {
      // Samples import the package by name ("trellis"): the `trellis-source` export condition
      // resolves it to src/ instead of the built dist/. The rest are Vitest's own defaults
      // (Vite's, less `module`, whose builds Node cannot load).
      conditions: [
        "trellis-source",
        ...defaultServerConditions.filter((condition) => condition !== "module"),
      ],
    },
  },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 20_000,
    pool: "forks",
  },
});
