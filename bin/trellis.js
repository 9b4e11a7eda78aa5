#!/usr/bin/env node
import { runAsProcess } from "../dist/cli/main.js";

await runAsProcess(process.argv.slice(2));
