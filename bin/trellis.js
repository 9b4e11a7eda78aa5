#!/usr/bin/env node
import { main } from "../dist/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error?.name && error?.message ? `${error.name}: ${error.message}` : error);
    process.exitCode = 1;
  },
);
