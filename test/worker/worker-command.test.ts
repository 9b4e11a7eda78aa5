import { describe, expect, it } from "vitest";
import { workerCommand } from "../../src/cli/commands/worker.js";
import { DATABASE_URL } from "../store/postgres/test-database.js";

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe("trellis worker", () => {
  it("has the shape of a command", () => {
    expect(workerCommand.name).toBe("worker");
    expect(workerCommand.summary.length).toBeGreaterThan(10);
    expect(workerCommand.help).toMatch(/--concurrency/);
  });

  it("prints its help", async () => {
    const { out, io: streams } = io();
    expect(await workerCommand.run(["--help"], streams)).toBe(0);
    expect(out.join("\n")).toMatch(/Usage: trellis worker --store postgres:URL --agents MODULE/);
  });

  it("refuses to run without a PostgreSQL store or an agents module", async () => {
    for (const args of [
      [],
      ["--agents", "agents.ts"],
      ["--store", "sqlite:x.db", "--agents", "agents.ts"],
      ["--store", "memory", "--agents", "agents.ts"],
      ["--store", `postgres:${DATABASE_URL}`],
    ]) {
      const { err, io: streams } = io();
      expect(await workerCommand.run(args, streams)).toBe(2);
      expect(err.join("\n")).toMatch(/needs --store postgres:URL/);
    }
  });

  it("refuses an unknown flag and a concurrency that is not a whole number", async () => {
    const unknown = io();
    expect(await workerCommand.run(["--bogus"], unknown.io)).toBe(2);
    expect(unknown.err.join("\n")).toMatch(/bogus/);
    await expect(
      workerCommand.run(
        ["--store", `postgres:${DATABASE_URL}`, "--agents", "a.ts", "--concurrency", "0"],
        io().io,
      ),
    ).rejects.toThrow(/Expected `--concurrency` to be an integer from 1 up, got/);
  });
});
