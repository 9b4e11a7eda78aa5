import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../../samples/webhooks/main.ts", import.meta.url));

describe("samples/webhooks", () => {
  it("sends from a second server the request the first could not deliver, then the decision and the end", async () => {
    const child = spawn(
      process.execPath,
      ["--conditions=trellis-source", "--import", "tsx", MAIN],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toEqual([
      "run: paused at draft",
      "receiver down: approval.requested answered 503",
      "first server stopped; its delivery waits in the outbox",
      "received approval.requested",
      "resume: completed",
      "received approval.decided, session.completed",
      "outbox: approval.decided delivered after 1 attempt(s)",
      "outbox: approval.requested delivered after 2 attempt(s)",
      "outbox: session.completed delivered after 1 attempt(s)",
    ]);
  }, 60_000);
});
