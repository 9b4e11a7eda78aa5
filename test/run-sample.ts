import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What a sample printed, and how it exited. */
export interface SampleRun {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs `samples/<path>` on the sources in a process of its own, as a user would, to its end. */
export function runSample(path: string): Promise<SampleRun> {
  const main = fileURLToPath(new URL(`../samples/${path}`, import.meta.url));
  const child = spawn(process.execPath, ["--conditions=trellis-source", "--import", "tsx", main], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out, err })));
}
