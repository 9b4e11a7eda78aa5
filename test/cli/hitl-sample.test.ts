/**
 * The hitl-review sample as its README tells it: `trellis run` pauses at the gate (exit 3),
 * other processes ask for changes, approve and resume, on the CLI's SQLite store.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { jsonLines, tempDir, trellisDone } from "./helpers.js";

// Each test starts several real processes; on a loaded machine one can take seconds to start.
vi.setConfig({ testTimeout: 120_000 });

const dir = tempDir("hitl");
const store = `sqlite:${join(dir.path, "trellis.db")}`;
const AGENTS = "samples/hitl-review/agents.ts";
afterAll(() => dir.remove());

describe("samples/hitl-review through the CLI", () => {
  it("pauses at the gate, takes changes and an approval from other processes, and publishes", async () => {
    const env = { GEMINI_API_KEY: "" };
    const run = await trellisDone(["run", AGENTS, "--store", store], env);
    expect(run.code).toBe(3);
    const session = /^session (\S+)$/m.exec(run.stdout)?.[1];
    expect(session).toBeDefined();
    expect(run.stdout).toContain(`trellis send ${session} approve --store ${store}`);
    expect(run.stdout).toContain(`trellis resume ${session} --agents ${AGENTS} --store ${store}`);

    const changes = JSON.stringify({ type: "request_changes", feedback: "Name one animal." });
    expect((await trellisDone(["send", session!, changes, "--store", store], env)).code).toBe(0);
    const revised = await trellisDone(
      ["resume", session!, "--agents", AGENTS, "--store", store],
      env,
    );
    expect(revised.code).toBe(3);
    expect(revised.stdout).toContain('Revised after \\"Name one animal.\\"');
    expect(revised.stdout).toContain("revision 1");

    const approved = await trellisDone(
      ["send", session!, "approve", "--agents", AGENTS, "--store", store, "--json"],
      env,
    );
    expect(approved.code).toBe(0);
    const result = jsonLines(approved.stdout).at(-1)!;
    expect(result).toMatchObject({
      type: "result",
      status: "completed",
      path: ["draft", "publish"],
    });
    expect((result.state as { published: string }).published).toContain("ochre sea stars");
  });
});
