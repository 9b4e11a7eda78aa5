import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, REVIEWER, startApi, tempDir, until, VIEWER } from "./harness.js";
import { openSse } from "./sse-client.js";

const dir = tempDir("server-review");
let api: Api;

beforeAll(async () => {
  api = await startApi({ dbFile: `${dir}/review.db`, server: { limits: { heartbeatMs: 50 } } });
});
afterAll(async () => {
  await api.close();
});

const gateOf = async (id: string) =>
  (await api.call("GET", `/api/sessions/${id}`, { token: VIEWER })).body;

describe("a review over HTTP", () => {
  it("starts a run, asks for changes (the node re-runs), approves, completes; the audit trail names the token; events arrive live and a reconnect misses none", async () => {
    const started = await api.call("POST", "/api/runs", {
      body: { agent: "review", input: { topic: "kelp" }, sessionId: "flow-1" },
    });
    expect(started.status).toBe(202);
    await until(async () => ((await gateOf("flow-1")).gate ? true : undefined), "the first gate");
    const live = await openSse(`${api.url}/api/sessions/flow-1/events`, {
      authorization: `Bearer ${VIEWER}`,
    });
    expect(live.status).toBe(200);
    const ready = await live.waitFor((e) => e.event === "ready", "ready");

    const first = await gateOf("flow-1");
    expect(first.gate).toMatchObject({
      node: "draft",
      revision: 0,
      output: { draft: "A draft about kelp" },
    });

    const changes = await api.call("POST", "/api/sessions/flow-1/interrupts?wait=10000", {
      token: REVIEWER,
      body: { type: "request_changes", feedback: "mention otters" },
    });
    expect(changes.status).toBe(200);
    expect(changes.body.decision).toMatchObject({
      status: "applied",
      action: { type: "request_changes" },
    });
    await live.waitFor((e) => e.event === "gate.opened", "the second gate");
    const second = await until(async () => {
      const s = await gateOf("flow-1");
      return s.gate?.revision === 1 ? s : undefined;
    }, "revision 1");
    expect(second.gate.output).toEqual({
      drafts: 1,
      draft: "Draft 1 about kelp, after: mention otters",
    });
    expect(second.gate.history).toEqual([
      {
        revision: 0,
        output: { drafts: 1, draft: "A draft about kelp" },
        feedback: "mention otters",
      },
    ]);

    // A second stream drops after the second gate and comes back with Last-Event-ID.
    const dropped = await openSse(`${api.url}/api/sessions/flow-1/events?from=start`, {
      authorization: `Bearer ${VIEWER}`,
    });
    await dropped.waitFor(
      (e) => e.event === "gate.opened" && JSON.parse(e.data).data?.revision === 1,
      "replayed second gate",
    );
    dropped.close();
    const lastId = dropped.events.at(-1)!.id!;

    const approve = await api.call("POST", "/api/sessions/flow-1/interrupts?wait=10000", {
      token: REVIEWER,
      body: { type: "approve", comment: "good" },
    });
    expect(approve.body.decision).toMatchObject({ status: "applied", action: { type: "approve" } });
    await until(
      async () => ((await gateOf("flow-1")).status === "completed" ? true : undefined),
      "completion",
    );
    const done = await gateOf("flow-1");
    expect(done.state.published).toBe("Draft 1 about kelp, after: mention otters");

    await live.waitFor(
      (e) => e.event === "status" && JSON.parse(e.data).status === "completed",
      "completed status",
    );
    const resumed = await openSse(`${api.url}/api/sessions/flow-1/events`, {
      authorization: `Bearer ${VIEWER}`,
      "last-event-id": lastId,
    });
    await resumed.waitFor(
      (e) => e.event === "status" && JSON.parse(e.data).status === "completed",
      "completed after reconnect",
    );
    const whole = await openSse(`${api.url}/api/sessions/flow-1/events?from=start`, {
      authorization: `Bearer ${VIEWER}`,
    });
    await whole.waitFor(
      (e) => e.event === "status" && JSON.parse(e.data).status === "completed",
      "completed in replay",
    );
    await new Promise((r) => setTimeout(r, 200));
    const key = (e: { event: string; id: string | undefined }) => `${e.id} ${e.event}`;
    const stitched = [...dropped.events.filter((e) => e.event !== "ready"), ...resumed.events].map(
      key,
    );
    expect(stitched).toEqual(whole.events.filter((e) => e.event !== "ready").map(key));
    // The live stream saw everything after its start, in order, with the same ids.
    const liveKeys = live.events.filter((e) => e.event !== "ready").map(key);
    const fromReady = whole.events.filter(
      (e) => e.id! > ready.id! || e.id!.length > ready.id!.length,
    );
    expect(liveKeys).toEqual(whole.events.slice(whole.events.length - liveKeys.length).map(key));
    expect(fromReady.length).toBeGreaterThan(0);
    const kinds = new Set(whole.events.map((e) => e.event));
    for (const k of [
      "checkpoint",
      "status",
      "gate.opened",
      "gate.decided",
      "interrupt.received",
      "interrupt.settled",
      "run.started",
      "run.resumed",
    ]) {
      expect(kinds, k).toContain(k);
    }
    expect(live.comments.some((c) => c.includes("heartbeat"))).toBe(true);

    const audit = (await api.call("GET", "/api/sessions/flow-1/audit?limit=500")).body.items as {
      kind: string;
      actor?: string;
      data?: { decision?: string };
    }[];
    const decided = audit.filter((e) => e.kind === "approval.decided");
    expect(decided.map((e) => [e.data?.decision, e.actor])).toEqual([
      ["request_changes", "rita"],
      ["approve", "rita"],
    ]);
    expect(
      audit.filter((e) => e.kind === "interrupt.received").every((e) => e.actor === "rita"),
    ).toBe(true);
    for (const s of [live, resumed, whole]) s.close();
  });

  it("of two approvals sent at once, exactly one decides the gate and the other is refused, by the run or, once it ended, by the server", async () => {
    await api.call("POST", "/api/runs", { body: { agent: "review", sessionId: "twice-1" } });
    await until(async () => ((await gateOf("twice-1")).gate ? true : undefined), "the gate");
    const [one, two] = await Promise.all(
      [1, 2].map(() =>
        api.call("POST", "/api/sessions/twice-1/interrupts?wait=10000", {
          token: REVIEWER,
          body: { type: "approve" },
        }),
      ),
    );
    // The other one is refused by the run, or, when it comes after the run ended, by the
    // server (409), with nothing queued.
    const answers = [one!, two!].map((r) =>
      r.status === 409 ? r.body.error.code : r.body.decision?.status,
    );
    expect(answers.sort()).toEqual(
      answers.includes("SESSION_ENDED") ? ["SESSION_ENDED", "applied"] : ["applied", "refused"],
    );
    await until(
      async () => ((await gateOf("twice-1")).status === "completed" ? true : undefined),
      "completion",
    );
    const audit = (await api.call("GET", "/api/sessions/twice-1/audit?limit=500")).body.items as {
      kind: string;
    }[];
    expect(audit.filter((e) => e.kind === "approval.decided")).toHaveLength(1);
    expect((await api.store.interrupts.stats("twice-1")).depth).toBe(0);
    const late = await api.call("POST", "/api/sessions/twice-1/interrupts", {
      token: REVIEWER,
      body: { type: "approve" },
    });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("SESSION_ENDED");
    expect((await api.store.interrupts.stats("twice-1")).depth).toBe(0);
  });

  it("refuses a malformed Last-Event-ID (400) and an event stream without a token (401); a `?token=` works for EventSource", async () => {
    await api.call("POST", "/api/runs", { body: { agent: "review", sessionId: "flow-2" } });
    await until(() => api.store.sessions.get("flow-2"), "the session");
    const bad = await api.call("GET", "/api/sessions/flow-2/events", {
      token: VIEWER,
      headers: { "last-event-id": "12" },
    });
    expect(bad.status).toBe(400);
    const none = await api.call("GET", "/api/sessions/flow-2/events", { token: null });
    expect(none.status).toBe(401);
    const byQuery = await openSse(`${api.url}/api/sessions/flow-2/events?token=${VIEWER}`);
    expect(byQuery.status).toBe(200);
    await byQuery.waitFor((e) => e.event === "ready", "ready");
    byQuery.close();
  });

  it("stops listening to the store when a client goes away", async () => {
    await api.call("POST", "/api/runs", { body: { agent: "review", sessionId: "flow-3" } });
    await until(() => api.store.sessions.get("flow-3"), "the session");
    const streams = Array.from({ length: 5 }, () =>
      openSse(`${api.url}/api/sessions/flow-3/events`, { authorization: `Bearer ${VIEWER}` }),
    );
    const opened = await Promise.all(streams);
    await Promise.all(opened.map((s) => s.waitFor((e) => e.event === "ready", "ready")));
    for (const s of opened) s.close();
    // Each stream held a heartbeat timer and a notifier subscription; after the clients go,
    // a new event reaches no dead stream (nothing throws) and the server still serves.
    await api.call("POST", "/api/sessions/flow-3/interrupts", {
      token: REVIEWER,
      body: { type: "reject", reason: "no" },
    });
    await until(
      async () => ((await gateOf("flow-3")).status === "rejected" ? true : undefined),
      "rejection",
    );
    expect((await api.call("GET", "/healthz", { token: null })).status).toBe(200);
  });
});
