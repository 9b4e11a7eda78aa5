import { describe, expect, it } from "vitest";
import { runSample } from "../run-sample.js";

describe("samples/durable-resume", () => {
  it("suspends in one process, approves in a second and finishes in a third, with the Date intact", async () => {
    const { code, out, err } = await runSample("durable-resume/main.ts");
    expect(err).toBe("");
    expect(code).toBe(0);
    const lines = out.trim().split("\n");
    const pids = lines.slice(0, 3).map((line) => /^\[(\d+)\]/.exec(line)?.[1]);
    expect(new Set(pids).size).toBe(3);
    expect(lines[0]).toMatch(/run: paused at review$/);
    expect(lines[1]).toMatch(/approve: queued for request \S+$/);
    expect(lines[2]).toMatch(/resume: completed; draftedAt is a Date, 2026-03-01T08:30:00\.123Z;/);
    // The text was written by the first process.
    expect(lines[2]).toContain(`Zürich → Wien 🚆, 東京 → 大阪, عربي — ${pids[0]}`);
    expect(lines.slice(3).map((l) => l.trim())).toEqual([
      "#1 run.started",
      "#2 approval.requested",
      "#3 run.finished",
      "#4 interrupt.received by ana",
      "#5 run.resumed",
      "#6 interrupt.applied by ana",
      "#7 approval.decided by ana",
      "#8 run.finished",
    ]);
  }, 60_000);
});
