import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnFixture } from "./child.js";
import { type Api, REVIEWER, startApi, tempDir, until, VIEWER } from "./harness.js";
import { openSse } from "./sse-client.js";

const dir = tempDir("server-cross");
const db = `${dir}/shared.db`;
let api: Api;

beforeAll(async () => {
  api = await startApi({ dbFile: db });
});
afterAll(async () => {
  await api.close();
});

describe("a server and a run in another process", () => {
  it("delivers a message POSTed to the server to the run a child process holds, and the receipt tells what it decided", async () => {
    const child = spawnFixture("run-child.ts", [db, "cross-1"], {
      TRELLIS_TEST_GATE_WAIT_MS: "30000",
    });
    expect(await child.line()).toBe("running");
    await until(
      async () => ((await api.store.sessions.get("cross-1"))?.gate ? true : undefined),
      "the gate in the child",
    );
    const events = await openSse(`${api.url}/api/sessions/cross-1/events`, {
      authorization: `Bearer ${VIEWER}`,
    });
    await events.waitFor((e) => e.event === "ready", "ready");
    const r = await api.call("POST", "/api/sessions/cross-1/interrupts?wait=15000", {
      token: REVIEWER,
      body: { type: "approve", comment: "from the server" },
    });
    expect(r.status).toBe(200);
    expect(r.body.decision).toMatchObject({ status: "applied", action: { type: "approve" } });
    expect(JSON.parse(await child.line())).toEqual({
      status: "completed",
      published: "A draft about dunes",
    });
    expect(await child.exited).toBe(0);
    // The child's checkpoints reach this server's event stream through the SQLite notifier.
    await events.waitFor(
      (e) => e.event === "gate.decided" && JSON.parse(e.data).actor === "rita",
      "the decision",
    );
    await events.waitFor(
      (e) => e.event === "status" && JSON.parse(e.data).status === "completed",
      "completion",
    );
    events.close();
    const audit = (await api.call("GET", "/api/sessions/cross-1/audit?limit=500")).body.items as {
      kind: string;
      actor?: string;
    }[];
    expect(audit.find((e) => e.kind === "approval.decided")?.actor).toBe("rita");
  });

  it("a rejection sent while the child waits ends its run rejected", async () => {
    const child = spawnFixture("run-child.ts", [db, "cross-2"], {
      TRELLIS_TEST_GATE_WAIT_MS: "30000",
    });
    expect(await child.line()).toBe("running");
    await until(
      async () => ((await api.store.sessions.get("cross-2"))?.gate ? true : undefined),
      "the gate in the child",
    );
    await api.call("POST", "/api/sessions/cross-2/interrupts", {
      token: REVIEWER,
      body: { text: "reject this, it is off topic" },
    });
    expect(JSON.parse(await child.line()).status).toBe("rejected");
  });
});
