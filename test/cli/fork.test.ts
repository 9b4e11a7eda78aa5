/**
 * `trellis fork` through real processes on a SQLite file: a rejected session goes on from an
 * earlier checkpoint, in the same session or another; bad input is refused before anything is
 * written; `resume` of an ended session says how to fork it, after the error.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { countEffects, GATED, jsonLines, tempDir, trellisDone } from "./helpers.js";

vi.setConfig({ testTimeout: 120_000 });

const dir = tempDir("fork");
afterAll(() => dir.remove());

let n = 0;
/** A new SQLite file holding a session of the gated fixture that was rejected at its gate. */
async function rejected(session: string) {
  const store = `sqlite:${join(dir.path, `fork-${++n}.db`)}`;
  const effects = join(dir.path, `effects-${n}.log`);
  const env = { TRELLIS_TEST_EFFECTS: effects };
  expect(
    (await trellisDone(["run", GATED, "--store", store, "--session", session], env)).code,
  ).toBe(3);
  expect((await trellisDone(["send", session, "reject", "--store", store])).code).toBe(0);
  expect(
    (await trellisDone(["resume", session, "--agents", GATED, "--store", store], env)).code,
  ).toBe(4);
  const history = await trellisDone(["history", session, "--store", store, "--json"]);
  const checkpoints = jsonLines(history.stdout) as {
    id: string;
    seq: number;
    node: string | null;
    status: string;
    meta: { gate?: unknown };
  }[];
  return { store, env, effects, checkpoints };
}

const auditKinds = async (session: string, store: string) =>
  jsonLines((await trellisDone(["audit", session, "--store", store, "--json"])).stdout);

describe("trellis fork", () => {
  it("runs a rejected session on from before its gated node: the node runs again, a new request opens, approve completes it", async () => {
    const session = "rejected-1";
    const { store, env, effects, checkpoints } = await rejected(session);
    // The checkpoint written after `slow`, before `draft` ran.
    const beforeDraft = checkpoints.find((c) => c.node === "slow")!;
    const fork = await trellisDone(
      [
        "fork",
        session,
        beforeDraft.id,
        "--agents",
        GATED,
        "--store",
        store,
        "--update",
        '{"topic":"dunes"}',
        "--actor",
        "ana",
        "--json",
      ],
      env,
    );
    expect(fork.stderr).toBe("");
    expect(fork.code).toBe(3);
    const lines = jsonLines(fork.stdout);
    expect(lines[0]).toMatchObject({
      type: "session",
      sessionId: session,
      forkedFrom: { sessionId: session, checkpointId: beforeDraft.id },
    });
    const result = lines.at(-1)!;
    expect(result).toMatchObject({
      status: "paused",
      state: { topic: "dunes", draft: "About dunes" },
    });
    const firstRequest = checkpoints.find((c) => c.meta.gate !== undefined)!.meta.gate as {
      requestId: string;
    };
    expect((result.gate as { requestId: string }).requestId).not.toBe(firstRequest.requestId);
    expect(countEffects(effects)["draft:start"]).toBe(2);
    expect(countEffects(effects)["prepare:start"]).toBe(1);
    const forked = (await auditKinds(session, store)).find((e) => e.kind === "run.forked")!;
    expect(forked).toMatchObject({
      actor: "ana",
      data: { from: { sessionId: session, checkpointId: beforeDraft.id } },
    });
    const send = await trellisDone(
      ["send", session, "approve", "--store", store, "--agents", GATED],
      env,
    );
    expect(send.code).toBe(0);
    expect(send.stdout).toContain("completed");
    expect(countEffects(effects)["publish:start"]).toBe(1);
  });

  it("reopens the same request when forked from the checkpoint that waited at the gate; --to leaves the source as it was", async () => {
    const session = "rejected-2";
    const { store, env, effects, checkpoints } = await rejected(session);
    const atGate = checkpoints.find((c) => c.status === "paused" && c.meta.gate !== undefined)!;
    const before = await trellisDone(["history", session, "--store", store, "--json"]);
    const fork = await trellisDone(
      ["fork", session, atGate.id, "--agents", GATED, "--store", store, "--to", "copy", "--json"],
      env,
    );
    expect(fork.code).toBe(3);
    const result = jsonLines(fork.stdout).at(-1)!;
    expect(result).toMatchObject({
      sessionId: "copy",
      status: "paused",
      gate: { requestId: (atGate.meta.gate as { requestId: string }).requestId },
    });
    // The gated node did not run again.
    expect(countEffects(effects)["draft:start"]).toBe(1);
    expect((await trellisDone(["history", session, "--store", store, "--json"])).stdout).toBe(
      before.stdout,
    );
    const sessions = JSON.parse(
      (await trellisDone(["sessions", "--store", store, "--json"])).stdout,
    ) as { items: { sessionId: string; status: string }[] };
    expect(sessions.items.find((s) => s.sessionId === session)?.status).toBe("rejected");
    expect(sessions.items.find((s) => s.sessionId === "copy")?.status).toBe("paused");
  });

  it("refuses bad --update, an unknown checkpoint and a missing --agents, writing nothing", async () => {
    const session = "rejected-3";
    const { store, checkpoints } = await rejected(session);
    const history = async () =>
      (await trellisDone(["history", session, "--store", store, "--json"])).stdout;
    const before = await history();
    const id = checkpoints[0]!.id;
    for (const [update, message] of [
      ["{not json", /--update` is not valid JSON/],
      ["[1,2]", /--update` must be a JSON object/],
      ['"text"', /--update` must be a JSON object/],
    ] as const) {
      const bad = await trellisDone([
        "fork",
        session,
        id,
        "--agents",
        GATED,
        "--store",
        store,
        "--update",
        update,
      ]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
    const schema = await trellisDone([
      "fork",
      session,
      id,
      "--agents",
      GATED,
      "--store",
      store,
      "--update",
      '{"topic": 42}',
    ]);
    expect(schema.code).toBe(1);
    expect(schema.stderr).toMatch(/topic/);
    const unknown = await trellisDone([
      "fork",
      session,
      "no-such.9",
      "--agents",
      GATED,
      "--store",
      store,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("CHECKPOINT_NOT_FOUND");
    expect(unknown.stderr).toContain("no-such.9");
    expect(unknown.stderr).toContain(`trellis history ${session} --store`);
    const noAgents = await trellisDone(["fork", session, id, "--store", store]);
    expect(noAgents.code).toBe(2);
    expect(noAgents.stderr).toContain("needs --agents");
    expect(await history()).toBe(before);
    expect((await auditKinds(session, store)).some((e) => e.kind === "run.forked")).toBe(false);
  });

  it("resume of an ended session prints the history and fork commands to go on", async () => {
    const session = "rejected-4";
    const { store } = await rejected(session);
    const resume = await trellisDone(["resume", session, "--agents", GATED, "--store", store]);
    expect(resume.code).toBe(1);
    // The error first, then what to run.
    expect(resume.stderr).toMatch(/^SessionEndedError \[SESSION_ENDED\]: /);
    expect(resume.stderr).toContain(`trellis history ${session} --store ${store}`);
    expect(resume.stderr).toContain(
      `trellis fork ${session} <checkpoint> --agents ${GATED} --store ${store}`,
    );
    const json = await trellisDone([
      "resume",
      session,
      "--agents",
      GATED,
      "--store",
      store,
      "--json",
    ]);
    const [error] = jsonLines(json.stderr);
    expect(error).toMatchObject({ type: "error", code: "SESSION_ENDED" });
    expect(error!.hint).toContain(`trellis fork ${session} <checkpoint>`);
  });
});
