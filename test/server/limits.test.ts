import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, REVIEWER, startApi, tempDir, until, VIEWER } from "./harness.js";
import { openSse } from "./sse-client.js";

const dir = tempDir("server-limits");
let api: Api;

beforeAll(async () => {
  api = await startApi({
    dbFile: `${dir}/limits.db`,
    server: { limits: { maxStreams: 2, maxWaitMs: 200 } },
  });
  await api.call("POST", "/api/runs", { body: { agent: "review", sessionId: "lim-1" } });
  await until(
    async () => ((await api.store.sessions.get("lim-1"))?.gate ? true : undefined),
    "the gate",
  );
});
afterAll(async () => {
  await api.close();
});

describe("server limits", () => {
  it("answers 503 past maxStreams open event streams, and takes a new one once one closed", async () => {
    const open = () =>
      openSse(`${api.url}/api/sessions/lim-1/events`, { authorization: `Bearer ${VIEWER}` });
    const a = await open();
    const b = await open();
    await Promise.all([a, b].map((s) => s.waitFor((e) => e.event === "ready", "ready")));
    const c = await api.call("GET", "/api/sessions/lim-1/events", { token: VIEWER });
    expect(c.status).toBe(503);
    expect(c.body.error.code).toBe("HTTP_UNAVAILABLE");
    a.close();
    const d = await until(async () => {
      const s = await open();
      if (s.status === 200) return s;
      return undefined;
    }, "room for a stream");
    await d.waitFor((e) => e.event === "ready", "ready");
    b.close();
    d.close();
  });

  it("caps ?wait= at maxWaitMs", async () => {
    await api.interrupts.send("lim-2", { type: "pause", mode: "suspend" });
    await api.call("POST", "/api/runs", { body: { agent: "pausable", sessionId: "lim-2" } });
    await until(
      async () => ((await api.store.sessions.get("lim-2"))?.status === "paused" ? true : undefined),
      "the pause",
    );
    const started = Date.now();
    const r = await api.call("POST", "/api/sessions/lim-2/interrupts?wait=60000", {
      token: REVIEWER,
      body: { type: "update_state", values: { topic: "waves" } },
    });
    const took = Date.now() - started;
    expect(r.status).toBe(202);
    expect(r.body.decision).toBeNull();
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(3000);
  });
});
