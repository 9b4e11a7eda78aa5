#!/usr/bin/env node
// TypeDoc's own command, resolved from here so that it finds the TypeScript 6 beside it.
require(require.resolve("typedoc/package.json").replace(/package\.json$/, "bin/typedoc"));
