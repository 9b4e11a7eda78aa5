/**
 * The gated fixture through real `trellis` processes, on SQLite and on PostgreSQL: a run stops
 * at the gate (exit 3), a second process decides it, a third resumes it; a killed run is taken
 * over by another process once its lease runs out. Side effects are counted in a file, so a
 * node that ran twice shows.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { commandLine } from "../../src/cli/shell-quote.js";
import { DATABASE_URL, dropSchema, testSchema } from "../store/postgres/test-database.js";
import { countEffects, GATED, jsonLines, tempDir, trellis, trellisDone, until } from "./helpers.js";

// Each test starts several real processes; on a loaded machine one can take seconds to start.
vi.setConfig({ testTimeout: 120_000 });

const dir = tempDir("gate");
const schema = testSchema("cli_gate");
afterAll(async () => {
  dir.remove();
  await dropSchema(schema);
});

const backends = [
  // A SQLite lease is only a row: a dead holder's runs until it expires.
  { name: "SQLite", store: `sqlite:${join(dir.path, "gate.db")}`, waitsOutLease: true },
  // PostgreSQL sees that the holder's connection is gone and frees the lease at once.
  { name: "PostgreSQL", store: `postgres:${DATABASE_URL}?schema=${schema}`, waitsOutLease: false },
] as const;

describe.each(backends)("trellis on $name", ({ name, store, waitsOutLease }) => {
  let n = 0;
  const effectsFile = () => join(dir.path, `${name}-${++n}.log`);

  it("pauses at the gate (exit 3), takes an approve from a second process and completes in a third, running no node twice", async () => {
    const file = effectsFile();
    const env = { TRELLIS_TEST_EFFECTS: file };
    const session = `odd id/ü "q" $HOME 'x' ${name}`;
    const run = await trellisDone(
      ["run", GATED, "--store", store, "--session", session, "--json"],
      env,
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(3);
    const lines = jsonLines(run.stdout);
    expect(lines[0]).toMatchObject({ type: "session", sessionId: session, agent: "gated" });
    expect(lines.filter((l) => l.type === "node:completed").map((l) => l.node)).toEqual([
      "prepare",
      "slow",
      "draft",
    ]);
    const result = lines.at(-1)!;
    expect(result).toMatchObject({
      type: "result",
      status: "paused",
      exitCode: 3,
      gate: { node: "draft" },
    });
    // The printed commands name the session and the store so they can be pasted as they are.
    expect(result.next).toContain(
      commandLine(["trellis", "send", session, "approve", "--store", store]),
    );
    expect(commandLine([session])).toBe(`'${session.replace(/'/g, `'\\''`)}'`);

    const inbox = await trellisDone(["sessions", "--waiting", "--store", store, "--json"]);
    expect(inbox.code).toBe(0);
    const waiting = JSON.parse(inbox.stdout) as {
      items: { sessionId: string; gate?: { node: string } }[];
    };
    expect(waiting.items.find((s) => s.sessionId === session)?.gate?.node).toBe("draft");

    const send = await trellisDone(
      ["send", session, "approve", "--store", store, "--sender", "ana"],
      env,
    );
    expect(send.code).toBe(0);
    expect(send.stdout).toMatch(/^queued \S+ for session /);
    expect(send.stdout).toContain("suspended at the approval gate `draft`");
    expect(send.stdout).toContain("trellis resume ");

    const resume = await trellisDone(["resume", session, "--agents", GATED, "--store", store], env);
    expect(resume.code).toBe(0);
    expect(resume.stdout.split("\n")[0]).toBe(`session ${session}`);
    expect(resume.stdout).toContain("■ completed  4 steps: prepare → slow → draft → publish");
    expect(resume.stderr).toContain("⚑ draft: approve by human (ana)");
    expect(countEffects(file)).toEqual({
      "prepare:start": 1,
      "prepare:done": 1,
      "slow:start": 1,
      "slow:done": 1,
      "draft:start": 1,
      "draft:done": 1,
      "publish:start": 1,
      "publish:done": 1,
    });

    // The session's history and audit trail, from yet another process each.
    const history = await trellisDone(["history", session, "--store", store, "--json"]);
    expect(history.code).toBe(0);
    const records = jsonLines(history.stdout);
    expect(records[0]).toMatchObject({ status: "completed" });
    expect(records.map((r) => r.seq)).toEqual(
      [...records.map((r) => r.seq as number)].sort((a, b) => b - a),
    );
    const audit = await trellisDone(["audit", session, "--store", store, "--json"]);
    expect(audit.code).toBe(0);
    const entries = jsonLines(audit.stdout);
    expect(entries.map((e) => e.kind)).toEqual(
      expect.arrayContaining([
        "run.started",
        "approval.requested",
        "interrupt.received",
        "approval.decided",
        "run.resumed",
        "run.finished",
      ]),
    );
    expect(entries.find((e) => e.kind === "interrupt.received")).toMatchObject({
      actor: "ana",
      data: { action: { type: "approve" } },
    });

    // A finished session takes no more messages: nothing would ever read them.
    const late = await trellisDone(["send", session, "pause", "--store", store]);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/^SessionEndedError \[SESSION_ENDED\]: /);
  });

  it("asks for changes with feedback, resumes at once with --agents, then ends rejected (exit 4)", async () => {
    const file = effectsFile();
    const env = { TRELLIS_TEST_EFFECTS: file };
    const session = `constructor`;
    expect(
      (await trellisDone(["run", GATED, "--store", store, "--session", session], env)).code,
    ).toBe(3);
    const changes = await trellisDone(
      [
        "send",
        session,
        "request_changes",
        "--feedback",
        "name one animal",
        "--agents",
        GATED,
        "--store",
        store,
      ],
      env,
    );
    expect(changes.code).toBe(3);
    expect(changes.stdout).toContain(
      'applied: {"type":"request_changes","feedback":"name one animal"}',
    );
    expect(changes.stdout).toContain('"draft": "About tides (name one animal)"');
    const reject = await trellisDone(
      ["send", session, "reject", "--agents", GATED, "--store", store, "--json"],
      env,
    );
    expect(reject.code).toBe(4);
    const lines = jsonLines(reject.stdout);
    expect(lines.find((l) => l.type === "decision")).toMatchObject({
      status: "applied",
      action: { type: "reject" },
    });
    expect(lines.at(-1)).toMatchObject({
      type: "result",
      status: "rejected",
      exitCode: 4,
      next: [],
    });
    const counts = countEffects(file);
    expect(counts["prepare:done"]).toBe(1);
    expect(counts["slow:done"]).toBe(1);
    expect(counts["draft:done"]).toBe(2);
    expect(counts["publish:start"]).toBeUndefined();
  });

  it("lets one of two resumes at once finish the session; the other exits 1 and runs nothing", async () => {
    const file = effectsFile();
    const env = { TRELLIS_TEST_EFFECTS: file };
    const session = `twice-${name}`;
    expect(
      (await trellisDone(["run", GATED, "--store", store, "--session", session], env)).code,
    ).toBe(3);
    expect((await trellisDone(["send", session, "approve", "--store", store], env)).code).toBe(0);
    const both = await Promise.all([
      trellisDone(["resume", session, "--agents", GATED, "--store", store], env),
      trellisDone(["resume", session, "--agents", GATED, "--store", store], env),
    ]);
    expect(both.map((r) => r.code).sort()).toEqual([0, 1]);
    const loser = both.find((r) => r.code === 1)!;
    expect(loser.stderr).toMatch(
      /^(SessionBusyError \[SESSION_BUSY\]|SessionEndedError \[SESSION_ENDED\]): /m,
    );
    expect(countEffects(file)).toMatchObject({
      "draft:done": 1,
      "publish:start": 1,
      "publish:done": 1,
    });
  });

  it("finishes a run killed mid-node from another process, once the dead run's lease is gone", async () => {
    const file = effectsFile();
    const session = `killed-${name}`;
    const victim = trellis(["run", GATED, "--store", store, "--session", session], {
      TRELLIS_TEST_EFFECTS: file,
      TRELLIS_TEST_SLOW_MS: "60000",
      TRELLIS_TEST_LEASE_MS: "4000",
    });
    await until(() => countEffects(file)["slow:start"] === 1, "the run to enter `slow`");
    victim.child.kill("SIGKILL");
    expect((await victim.done).signal).toBe("SIGKILL");

    const env = { TRELLIS_TEST_EFFECTS: file };
    const resume = await trellisDone(["resume", session, "--agents", GATED, "--store", store], env);
    expect(resume.stderr.includes("waiting up to")).toBe(waitsOutLease);
    expect(resume.code).toBe(3);
    const done = await trellisDone(
      ["send", session, "approve", "--agents", GATED, "--store", store],
      env,
    );
    expect(done.code).toBe(0);
    expect(done.stdout).toContain("■ completed  4 steps: prepare → slow → draft → publish");
    // `slow` never finished in the killed process, so it ran again; nothing else did.
    expect(countEffects(file)).toEqual({
      "prepare:start": 1,
      "prepare:done": 1,
      "slow:start": 2,
      "slow:done": 1,
      "draft:start": 1,
      "draft:done": 1,
      "publish:start": 1,
      "publish:done": 1,
    });
  });
});
