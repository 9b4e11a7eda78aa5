import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  type Api,
  OTHER_REVIEWER,
  REVIEWER,
  startApi,
  tempDir,
  until,
  VIEWER,
} from "./harness.js";

const dir = tempDir("server-routes");
let api: Api;

beforeAll(async () => {
  api = await startApi({ dbFile: `${dir}/routes.db`, server: { limits: { maxBodyBytes: 2048 } } });
});
afterAll(async () => {
  await api.close();
});

async function gatedSession(sessionId: string, extra: Record<string, unknown> = {}) {
  const started = await api.call("POST", "/api/runs", {
    body: { agent: "review", input: { topic: "tides" }, sessionId, ...extra },
  });
  expect(started.status).toBe(202);
  await until(async () => {
    const s = await api.store.sessions.get(sessionId);
    return s?.gate !== undefined ? s : undefined;
  }, "the gate");
}

/** A session whose run of the `pausable` agent, started over the API, completed. */
async function completedSession(sessionId: string) {
  const started = await api.call("POST", "/api/runs", {
    body: { agent: "pausable", sessionId },
  });
  expect(started.status).toBe(202);
  await until(
    async () =>
      (await api.store.sessions.get(sessionId))?.status === "completed" ? true : undefined,
    "completion",
  );
}

describe("review API routes", () => {
  it("answers /healthz without a token", async () => {
    const r = await api.call("GET", "/healthz", { token: null });
    expect(r).toMatchObject({ status: 200, body: { ok: true } });
  });

  it("refuses requests without a token or with a wrong one (401)", async () => {
    for (const token of [null, "nope-nope-nope-nope-nope", `${ADMIN}x`]) {
      const r = await api.call("GET", "/api/sessions", { token });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("HTTP_UNAUTHORIZED");
    }
    const basic = await api.call("GET", "/api/sessions", {
      token: null,
      headers: { authorization: `Basic ${ADMIN}` },
    });
    expect(basic.status).toBe(401);
  });

  it("starts a run in the background and answers 202 with the session id", async () => {
    const r = await api.call("POST", "/api/runs", {
      body: { agent: "review", input: { topic: "reefs" } },
    });
    expect(r.status).toBe(202);
    expect(typeof r.body.sessionId).toBe("string");
    await until(() => api.store.sessions.get(r.body.sessionId), "the session");
  });

  it("refuses to start runs for a viewer or a reviewer (403), and writes nothing", async () => {
    for (const token of [VIEWER, REVIEWER]) {
      const r = await api.call("POST", "/api/runs", {
        token,
        body: { agent: "review", sessionId: "not-started" },
      });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe("HTTP_FORBIDDEN");
    }
    expect(await api.store.sessions.get("not-started")).toBeUndefined();
    expect((await api.store.audit.list("not-started")).total).toBe(0);
  });

  it("refuses unknown agents, agents named like Object.prototype members, bad input and unknown keys (400)", async () => {
    for (const body of [
      { agent: "nope" },
      { agent: "constructor" },
      { agent: "__proto__" },
      { agent: "toString" },
      { agent: "review", input: { topic: 42 } },
      { agent: "review", extra: 1 },
      JSON.parse('{"agent":"review","__proto__":{"admin":true}}'),
      [],
      "text",
    ]) {
      const r = await api.call("POST", "/api/runs", { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toMatch(/HTTP_BAD_REQUEST|STATE_INVALID/);
    }
    const notJson = await api.call("POST", "/api/runs", { raw: "{not json" });
    expect(notJson.status).toBe(400);
  });

  it("refuses a body over the limit (413) before reading it all", async () => {
    const r = await api.call("POST", "/api/runs", {
      body: { agent: "review", input: { topic: "x".repeat(5000) } },
    });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("HTTP_BODY_TOO_LARGE");
  });

  it("answers 404 for unknown sessions, `constructor` and `__proto__` included, on every session route", async () => {
    for (const id of ["nope", "constructor", "__proto__", "toString"]) {
      for (const [method, path, body] of [
        ["GET", `/api/sessions/${id}`],
        ["GET", `/api/sessions/${id}/history`],
        ["GET", `/api/sessions/${id}/audit`],
        ["GET", `/api/sessions/${id}/events`],
        ["POST", `/api/sessions/${id}/interrupts`, { type: "pause" }],
        ["DELETE", `/api/sessions/${id}`],
      ] as const) {
        const r = await api.call(method, path, body === undefined ? {} : { body });
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.body.error.code).toBe("HTTP_NOT_FOUND");
      }
    }
  });

  it("shows a session at its gate: state, path, the output under review, next nodes and the graph", async () => {
    await gatedSession("detail-1");
    const r = await api.call("GET", "/api/sessions/detail-1", { token: VIEWER });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      sessionId: "detail-1",
      status: "paused",
      agent: "review",
      path: ["draft"],
      next: ["publish"],
      state: { topic: "tides", draft: "A draft about tides" },
      gate: {
        node: "draft",
        revision: 0,
        maxRevisions: 3,
        history: [],
        output: { draft: "A draft about tides" },
      },
      graph: { name: "review", nodes: ["draft", "publish"] },
    });
    expect(r.body.gate.requestId).toEqual(expect.any(String));
    expect(r.body.graph.mermaid).toContain("flowchart TD");
  });

  it("lists the inbox waiting-for-approval first, newest first, paged and filtered", async () => {
    await gatedSession("inbox-gated");
    await completedSession("inbox-done");
    const all = await api.call("GET", "/api/sessions?limit=500", { token: VIEWER });
    expect(all.status).toBe(200);
    const items = all.body.items as { sessionId: string; waiting: unknown; updatedAt: number }[];
    const firstOpen = items.findIndex((i) => i.waiting === null);
    expect(firstOpen).toBeGreaterThan(0);
    expect(items.slice(firstOpen).every((i) => i.waiting === null)).toBe(true);
    expect(items.slice(0, firstOpen).map((i) => i.sessionId)).toContain("inbox-gated");
    expect(items[0]!.sessionId).toBe("inbox-gated");
    const paged = await api.call("GET", `/api/sessions?offset=${firstOpen}&limit=1`);
    expect(paged.body.items.map((i: { sessionId: string }) => i.sessionId)).toEqual([
      items[firstOpen]!.sessionId,
    ]);
    const waiting = await api.call("GET", "/api/sessions?waiting=approval");
    expect(waiting.body.items.every((i: { waiting: unknown }) => i.waiting !== null)).toBe(true);
    const completed = await api.call("GET", "/api/sessions?status=completed&graph=pausable");
    expect(completed.body.items.map((i: { sessionId: string }) => i.sessionId)).toContain(
      "inbox-done",
    );
    for (const bad of [
      "?limit=0",
      "?limit=501",
      "?offset=-1",
      "?status=nope",
      "?waiting=yes",
      "?limit=1.5",
      "?extra=1",
    ]) {
      const r = await api.call("GET", `/api/sessions${bad}`);
      expect(r.status, bad).toBe(400);
    }
  });

  it("pages history and the audit trail", async () => {
    await gatedSession("paged-1");
    const history = await api.call("GET", "/api/sessions/paged-1/history?limit=1", {
      token: VIEWER,
    });
    expect(history.status).toBe(200);
    expect(history.body.items).toHaveLength(1);
    expect(history.body.more).toBe(true);
    expect(history.body.items[0].status).toBe("paused");
    const second = await api.call("GET", "/api/sessions/paged-1/history?offset=1&limit=50");
    expect(second.body.items.length).toBeGreaterThan(0);
    expect(second.body.items[0].seq).toBeLessThan(history.body.items[0].seq);
    const audit = await api.call("GET", "/api/sessions/paged-1/audit?limit=2", { token: VIEWER });
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(2);
    expect(audit.body.items[0]).toMatchObject({ kind: "custom.run.requested", actor: "ada" });
    expect(audit.body.total).toBeGreaterThan(2);
  });

  it("refuses a viewer's interrupt (403) and queues nothing", async () => {
    await gatedSession("viewer-1");
    const r = await api.call("POST", "/api/sessions/viewer-1/interrupts", {
      token: VIEWER,
      body: { type: "approve" },
    });
    expect(r.status).toBe(403);
    expect((await api.store.interrupts.stats("viewer-1")).queued).toBe(0);
  });

  it("refuses bad interrupts (400): unknown types, wrong fields, empty text, `__proto__` keys, non-objects", async () => {
    await gatedSession("bad-1");
    for (const body of [
      { type: "nope" },
      { type: "go_back" },
      { text: "" },
      { text: "   " },
      { text: 3 },
      { text: "hi", extra: 1 },
      JSON.parse('{"type":"approve","__proto__":{"x":1}}'),
      JSON.parse('{"type":"constructor"}'),
      [],
      null,
      "approve",
    ]) {
      const r = await api.call("POST", "/api/sessions/bad-1/interrupts", { token: REVIEWER, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    const badWait = await api.call("POST", "/api/sessions/bad-1/interrupts?wait=soon", {
      token: REVIEWER,
      body: { type: "pause" },
    });
    expect(badWait.status).toBe(400);
    expect((await api.store.interrupts.stats("bad-1")).queued).toBe(0);
  });

  it("keeps a session restricted to named reviewers from others (403), lets the named one and admins act", async () => {
    await gatedSession("restricted-1", { reviewers: ["rita"] });
    // The session's answer tells each caller what the interrupt route will do for it.
    for (const [token, canAct] of [
      [VIEWER, false],
      [OTHER_REVIEWER, false],
      [REVIEWER, true],
      [ADMIN, true],
    ] as const) {
      const view = await api.call("GET", "/api/sessions/restricted-1", { token });
      expect(view.body, token).toMatchObject({ canAct, reviewers: ["rita"] });
    }
    const otto = await api.call("POST", "/api/sessions/restricted-1/interrupts", {
      token: OTHER_REVIEWER,
      body: { type: "pause" },
    });
    expect(otto.status).toBe(403);
    expect(otto.body.error.message).toContain("rita");
    const rita = await api.call("POST", "/api/sessions/restricted-1/interrupts", {
      token: REVIEWER,
      body: { type: "update_state", values: { notes: ["x"] } },
    });
    expect(rita.status).toBe(202);
    expect(rita.body.receipt.id).toEqual(expect.any(String));
    const ada = await api.call("POST", "/api/sessions/restricted-1/interrupts", {
      token: ADMIN,
      body: { text: "looks fine" },
    });
    expect(ada.status).toBeLessThan(300);
  });

  it("says canAct by role on a session of every reviewer, and to nobody once the run completed", async () => {
    await gatedSession("open-1");
    for (const [token, canAct] of [
      [VIEWER, false],
      [OTHER_REVIEWER, true],
      [ADMIN, true],
    ] as const) {
      const view = await api.call("GET", "/api/sessions/open-1", { token });
      expect(view.body, token).toMatchObject({ canAct, reviewers: null });
    }
    await completedSession("done-1");
    const done = await api.call("GET", "/api/sessions/done-1", { token: ADMIN });
    expect(done.body).toMatchObject({ status: "completed", canAct: false });
    const sent = await api.call("POST", "/api/sessions/done-1/interrupts", {
      token: ADMIN,
      body: { type: "pause" },
    });
    expect(sent.status).toBe(409);
  });

  it("refuses to start a run in a session that did not finish (409)", async () => {
    await gatedSession("busy-1");
    const r = await api.call("POST", "/api/runs", {
      body: { agent: "review", sessionId: "busy-1" },
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("SESSION_NOT_FINISHED");
  });

  it("deletes a session for an admin only; the audit trail keeps who did it", async () => {
    await gatedSession("delete-1");
    expect((await api.call("DELETE", "/api/sessions/delete-1", { token: REVIEWER })).status).toBe(
      403,
    );
    expect(await api.store.sessions.get("delete-1")).toBeDefined();
    expect((await api.call("DELETE", "/api/sessions/delete-1")).status).toBe(204);
    expect((await api.call("GET", "/api/sessions/delete-1")).status).toBe(404);
    const audit = await api.store.audit.list("delete-1", { limit: 500 });
    expect(audit.items.at(-1)).toMatchObject({ kind: "session.deleted", actor: "ada" });
  });

  it("lists the server's agents with their graphs for a viewer", async () => {
    const r = await api.call("GET", "/api/agents", { token: VIEWER });
    expect(r.status).toBe(200);
    expect(r.body.items.map((a: { name: string; graph: string }) => [a.name, a.graph])).toEqual([
      ["review", "review"],
      ["pausable", "pausable"],
    ]);
    expect(r.body.items[0].nodes).toEqual(["draft", "publish"]);
    expect((await api.call("GET", "/api/agents", { token: null })).status).toBe(401);
  });

  it("shows webhook deliveries to admins only", async () => {
    expect((await api.call("GET", "/api/deliveries", { token: VIEWER })).status).toBe(403);
    const r = await api.call("GET", "/api/deliveries");
    expect(r).toMatchObject({ status: 200, body: { items: [] } });
  });

  it("leaves a paused session paused for an update_state and wakes it for a resume, without anyone calling resume", async () => {
    await api.interrupts.send("wake-1", { type: "pause", mode: "suspend" });
    expect(
      (await api.call("POST", "/api/runs", { body: { agent: "pausable", sessionId: "wake-1" } }))
        .status,
    ).toBe(202);
    await until(
      async () =>
        (await api.store.sessions.get("wake-1"))?.status === "paused" ? true : undefined,
      "the pause",
    );
    const update = await api.call("POST", "/api/sessions/wake-1/interrupts?wait=300", {
      token: REVIEWER,
      body: { type: "update_state", values: { notes: ["from the page"] } },
    });
    expect(update.status).toBe(202);
    expect(update.body.decision).toBeNull();
    expect((await api.store.sessions.get("wake-1"))?.status).toBe("paused");
    const resume = await api.call("POST", "/api/sessions/wake-1/interrupts?wait=10000", {
      token: REVIEWER,
      body: { type: "resume" },
    });
    expect(resume.status).toBe(200);
    expect(resume.body.decision).toMatchObject({ status: "applied", action: { type: "resume" } });
    await until(
      async () =>
        (await api.store.sessions.get("wake-1"))?.status === "completed" ? true : undefined,
      "completion",
    );
    const view = await api.call("GET", "/api/sessions/wake-1");
    expect(view.body.state.notes).toEqual(["two"]);
    const audit = (await api.call("GET", "/api/sessions/wake-1/audit?limit=500")).body.items as {
      kind: string;
      actor?: string;
      data?: { action?: { type: string } };
    }[];
    expect(
      audit.some(
        (e) =>
          e.kind === "interrupt.applied" &&
          e.actor === "rita" &&
          e.data?.action?.type === "update_state",
      ),
    ).toBe(true);
  });

  it("answers unknown routes with a 404 error body", async () => {
    const r = await api.call("GET", "/api/nope");
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("HTTP_NOT_FOUND");
  });
});
