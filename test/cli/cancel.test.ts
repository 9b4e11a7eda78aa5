/**
 * Cancelling a `trellis run`: Ctrl-C (SIGINT) once ends it `cancelled` with exit 5 and a
 * resumable checkpoint, twice exits 130 at once; a `cancel` sent from another process ends it
 * the same way and that process is told it was applied.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { countEffects, GATED, jsonLines, tempDir, trellis, trellisDone, until } from "./helpers.js";

// Each test starts several real processes; on a loaded machine one can take seconds to start.
vi.setConfig({ testTimeout: 120_000 });

const dir = tempDir("cancel");
const store = `sqlite:${join(dir.path, "cancel.db")}`;
afterAll(() => dir.remove());

describe("cancelling trellis run", () => {
  it("cancels on the first Ctrl-C (exit 5), keeps the checkpoint, and a resume goes on from it", async () => {
    const file = join(dir.path, "sigint.log");
    const run = trellis(["run", GATED, "--store", store, "--session", "sigint"], {
      TRELLIS_TEST_EFFECTS: file,
      TRELLIS_TEST_SLOW_MS: "60000",
    });
    await until(() => countEffects(file)["slow:start"] === 1, "the run to enter `slow`");
    run.child.kill("SIGINT");
    const cancelled = await run.done;
    expect(cancelled.code).toBe(5);
    expect(cancelled.stderr).toContain("Cancelling the run");
    expect(cancelled.stdout).toContain("■ cancelled  1 steps: prepare");
    expect(cancelled.stdout).toContain(
      `Continue it: trellis resume sigint --agents ${GATED} --store ${store}`,
    );

    const resume = await trellisDone(
      ["resume", "sigint", "--agents", GATED, "--store", store, "--json"],
      {
        TRELLIS_TEST_EFFECTS: file,
      },
    );
    expect(resume.code).toBe(3);
    expect(jsonLines(resume.stdout).at(-1)).toMatchObject({
      status: "paused",
      gate: { node: "draft" },
    });
    expect(countEffects(file)).toMatchObject({
      "prepare:done": 1,
      "slow:start": 2,
      "slow:done": 1,
    });
  });

  it("exits 130 at once on a second Ctrl-C", async () => {
    const file = join(dir.path, "twice.log");
    // A node that does not listen to its signal keeps the cancelled run busy for a while.
    const run = trellis(["run", GATED, "--store", store, "--session", "twice"], {
      TRELLIS_TEST_EFFECTS: file,
      TRELLIS_TEST_SLOW_MS: "60000",
      TRELLIS_TEST_DEAF: "1",
    });
    await until(() => countEffects(file)["slow:start"] === 1, "the run to enter `slow`");
    run.child.kill("SIGINT");
    await until(() => run.stderr().includes("Cancelling the run"), "the first Ctrl-C to be seen");
    run.child.kill("SIGINT");
    const done = await run.done;
    expect(done.code).toBe(130);
  });

  it("says a live run holds the session, and ends that run cancelled (exit 5) when another process sends `cancel`", async () => {
    const file = join(dir.path, "sent.log");
    const run = trellis(["run", GATED, "--store", store, "--session", "sent"], {
      TRELLIS_TEST_EFFECTS: file,
      TRELLIS_TEST_SLOW_MS: "60000",
      TRELLIS_TEST_LEASE_MS: "1500",
    });
    await until(() => countEffects(file)["slow:start"] === 1, "the run to enter `slow`");
    // The run renews its lease while it works: a resume from elsewhere says it is alive.
    const busy = await trellisDone([
      "resume",
      "sent",
      "--agents",
      GATED,
      "--store",
      store,
      "--json",
    ]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("waiting up to");
    expect(JSON.parse(busy.stderr.trim().split("\n").at(-1)!)).toMatchObject({
      type: "error",
      name: "SessionBusyError",
      code: "SESSION_BUSY",
    });
    expect(busy.stderr).toContain("is held by a live run of");
    const send = await trellisDone(["send", "sent", "cancel", "--store", store, "--wait", "20000"]);
    expect(send.stdout).toContain('applied: {"type":"cancel"}');
    expect(send.code).toBe(0);
    const cancelled = await run.done;
    expect(cancelled.code).toBe(5);
    expect(countEffects(file)["slow:done"]).toBeUndefined();
  });
});
