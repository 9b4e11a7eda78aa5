import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { signWebhook, verifyWebhook } from "../../src/entries/server.js";
import type { CheckpointRecord } from "../../src/index.js";
import { silentLogger } from "../../src/logger.js";
import {
  resolveWebhookOptions,
  WebhookSender,
  webhookEventsOf,
} from "../../src/server/webhooks.js";
import type { GateMeta } from "../../src/store/checkpoint-meta.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { checkpoint, GATE, T0 } from "../store/suite/fixtures.js";
import { nestedReviewAgents } from "./fixtures/review-agents.js";
import { type Api, REVIEWER, startApi, tempDir, until } from "./harness.js";

const dir = tempDir("server-webhooks");
const SECRET = "webhook-secret-0123456789";

interface Received {
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  readonly at: number;
}

async function receiver(
  answer: (request: Received, response: ServerResponse, count: number) => void,
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    request.on("end", () => {
      const r = { headers: request.headers, body, at: Date.now() };
      received.push(r);
      answer(r, response, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    server,
  };
}

const apis: Api[] = [];
afterAll(async () => {
  for (const api of apis) await api.close();
});

/** A server whose gates wait in process for `waitMs` (0: they suspend), sending to `url`. */
async function hookedApi(name: string, url: string, waitMs: number): Promise<Api> {
  const before = process.env.TRELLIS_TEST_GATE_WAIT_MS;
  process.env.TRELLIS_TEST_GATE_WAIT_MS = String(waitMs);
  try {
    const api = await startApi({
      dbFile: `${dir}/${name}.db`,
      agents: nestedReviewAgents,
      server: { webhooks: { endpoints: [{ url, secret: SECRET }], backoffMs: 50 } },
    });
    apis.push(api);
    return api;
  } finally {
    if (before === undefined) delete process.env.TRELLIS_TEST_GATE_WAIT_MS;
    else process.env.TRELLIS_TEST_GATE_WAIT_MS = before;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: payloads are JSON of several shapes.
type Payload = any;

/** The payloads delivered for one session, each delivery once, in the order they arrived. */
function deliveredFor(received: readonly Received[], sessionId: string): Payload[] {
  const seen = new Map<string, Payload>();
  for (const r of received) {
    const payload = JSON.parse(r.body);
    if (payload.sessionId === sessionId && !seen.has(payload.id)) seen.set(payload.id, payload);
  }
  return [...seen.values()];
}

const requestsOf = (payloads: readonly Payload[]) =>
  payloads.filter((p) => p.type === "approval.requested");

/** The delivery id a payload should carry: by request for a request or decision, else by checkpoint. */
function expectedId(url: string, payload: Payload): string {
  const subject =
    payload.type === "approval.requested"
      ? `request:${payload.gate.requestId}`
      : payload.type === "approval.decided"
        ? `decision:${payload.decision.requestId}`
        : payload.checkpointId;
  return createHash("sha256")
    .update(`${url}\n${payload.sessionId}\n${subject}\n${payload.type}`)
    .digest("hex")
    .slice(0, 32);
}

/** Gives the server's deliveries and the notifier time to send anything more. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/**
 * Once the deliveries settle, what the session was sent, checked to be one gate's request, its
 * decision and the run's completion, each once. Each delivery is a POST of its own, so they may
 * arrive in any order; `decided` is the decision's.
 */
async function oneDecidedGate(received: readonly Received[], sessionId: string) {
  await settle();
  const all = deliveredFor(received, sessionId);
  expect(all.map((p) => p.type).sort()).toEqual([
    "approval.decided",
    "approval.requested",
    "session.completed",
  ]);
  return { all, decided: all.find((p) => p.type === "approval.decided")! };
}

/** Waits until at least `n` approval requests for `sessionId` arrived; returns them all. */
function untilRequests(received: readonly Received[], sessionId: string, n = 1) {
  return until(() => {
    const requests = requestsOf(deliveredFor(received, sessionId));
    return requests.length >= n ? requests : undefined;
  }, `approval request ${n} of ${sessionId}`);
}

/** Waits until a delivery of `type` for `sessionId` arrived. */
function untilDelivered(received: readonly Received[], sessionId: string, type: string) {
  return until(
    () => (deliveredFor(received, sessionId).some((x) => x.type === type) ? true : undefined),
    `a ${type} delivery`,
  );
}

describe("webhooks", () => {
  it("names the events a checkpoint stands for", () => {
    const record = (
      status: CheckpointRecord["status"],
      meta: Partial<CheckpointRecord["meta"]> = {},
    ) =>
      ({
        kind: "full",
        state: {},
        sessionId: "s",
        thread: "",
        id: "c",
        seq: 1,
        parentId: null,
        runId: "r",
        node: null,
        iteration: 0,
        next: [],
        status,
        meta: { v: 1, ...meta },
        createdAt: 0,
      }) as CheckpointRecord;
    const gate = {
      requestId: "q",
      node: "draft",
      revision: 0,
      maxRevisions: 3,
      output: {},
      history: [],
      openedAt: 0,
      queueSeq: 0,
    };
    const decision = {
      requestId: "q",
      node: "draft",
      revision: 0,
      decision: "approve",
      by: "human",
    } as const;
    expect(webhookEventsOf(record("running"))).toEqual([]);
    expect(webhookEventsOf(record("paused"))).toEqual(["session.paused"]);
    expect(webhookEventsOf(record("paused", { gate }))).toEqual(["approval.requested"]);
    // A timed gate is waited at in process; one without a timeout suspends right after it opens.
    expect(webhookEventsOf(record("running", { gate: { ...gate, deadline: 5 } }))).toEqual([
      "approval.requested",
    ]);
    expect(webhookEventsOf(record("running", { gate }))).toEqual([]);
    expect(webhookEventsOf(record("running", { decision }))).toEqual(["approval.decided"]);
    expect(webhookEventsOf(record("paused", { decision, gate }))).toEqual([
      "approval.decided",
      "approval.requested",
    ]);
    for (const status of ["completed", "failed", "rejected", "cancelled"] as const) {
      expect(webhookEventsOf(record(status))).toEqual([`session.${status}`]);
    }
    expect(
      webhookEventsOf({
        ...record("paused"),
        kind: "unparsable",
        problem: "x",
        meta: undefined,
      } as never),
    ).toEqual([]);
  });

  it("verifies signatures: right secret and body pass; another secret, a changed body or an old time fail", () => {
    const t = Math.floor(Date.now() / 1000);
    const header = signWebhook(SECRET, '{"a":1}', t);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(SECRET, header, '{"a":1}')).toBe(true);
    expect(verifyWebhook(`${SECRET}x`, header, '{"a":1}')).toBe(false);
    expect(verifyWebhook(SECRET, header, '{"a":2}')).toBe(false);
    expect(verifyWebhook(SECRET, signWebhook(SECRET, '{"a":1}', t - 3600), '{"a":1}')).toBe(false);
    expect(verifyWebhook(SECRET, undefined, "{}")).toBe(false);
    expect(verifyWebhook(SECRET, "t=1,v1=zz", "{}")).toBe(false);
  });

  it("posts signed events for a gate and a decision; a failing receiver is retried with the same delivery id until it answers", async () => {
    const hook = await receiver((_r, response, count) => {
      response.writeHead(count <= 2 ? 500 : 200).end();
    });
    const api = await startApi({
      dbFile: `${dir}/retry.db`,
      server: {
        webhooks: {
          endpoints: [{ url: hook.url, secret: SECRET }],
          backoffMs: 50,
          maxAttempts: 5,
          timeoutMs: 2000,
        },
      },
    });
    apis.push(api);
    await api.call("POST", "/api/runs", { body: { agent: "review", sessionId: "hook-1" } });
    const gate = await until(() => {
      const ok = hook.received.filter((r) => r.headers["trellis-event"] === "approval.requested");
      return ok.length >= 3 ? ok : undefined;
    }, "three attempts at the approval request");
    expect(new Set(gate.map((r) => r.headers["trellis-delivery"])).size).toBe(1);
    expect(gate[1]!.at - gate[0]!.at).toBeGreaterThanOrEqual(45);
    expect(gate[2]!.at - gate[1]!.at).toBeGreaterThanOrEqual(95);
    for (const r of gate) {
      expect(verifyWebhook(SECRET, r.headers["trellis-signature"] as string, r.body)).toBe(true);
    }
    const payload = JSON.parse(gate[0]!.body);
    expect(payload).toMatchObject({
      type: "approval.requested",
      sessionId: "hook-1",
      status: "paused",
      gate: { node: "draft", revision: 0 },
      id: gate[0]!.headers["trellis-delivery"],
    });
    const deliveries = await until(async () => {
      const d = (await api.call("GET", "/api/deliveries")).body.items;
      return d.find((x: { status: string }) => x.status === "delivered") ? d : undefined;
    }, "the delivery to succeed");
    expect(deliveries[0]).toMatchObject({
      status: "delivered",
      attempts: 3,
      type: "approval.requested",
      lastStatus: 200,
    });

    await api.call("POST", "/api/sessions/hook-1/interrupts", {
      token: REVIEWER,
      body: { type: "approve" },
    });
    const types = await until(() => {
      const t = new Set(hook.received.map((r) => r.headers["trellis-event"]));
      return t.has("session.completed") && t.has("approval.decided") ? t : undefined;
    }, "decided and completed");
    expect(types).toContain("approval.decided");
  });

  it("gives up after maxAttempts and shows the last error", async () => {
    const hook = await receiver((_r, response) => response.writeHead(503).end());
    const api = await startApi({
      dbFile: `${dir}/fail.db`,
      server: {
        webhooks: { endpoints: [{ url: hook.url, secret: SECRET }], backoffMs: 10, maxAttempts: 3 },
      },
    });
    apis.push(api);
    await api.call("POST", "/api/runs", { body: { agent: "pausable", sessionId: "hook-2" } });
    const failed = await until(async () => {
      const d = (await api.call("GET", "/api/deliveries")).body.items;
      return d.find((x: { status: string }) => x.status === "failed");
    }, "a failed delivery");
    expect(failed).toMatchObject({
      attempts: 3,
      lastError: "HTTP 503",
      lastStatus: 503,
      type: "session.completed",
    });
    expect(hook.received).toHaveLength(3);
  });

  it("a receiver that hangs does not slow the run; each attempt is abandoned at timeoutMs", async () => {
    const hook = await receiver(() => {
      // never answers
    });
    const api = await startApi({
      dbFile: `${dir}/hang.db`,
      server: {
        webhooks: {
          endpoints: [{ url: hook.url, secret: SECRET }],
          backoffMs: 10,
          maxAttempts: 1,
          timeoutMs: 2000,
        },
      },
    });
    apis.push(api);
    const started = Date.now();
    await api.call("POST", "/api/runs", { body: { agent: "review", sessionId: "hook-3" } });
    await until(
      async () => ((await api.store.sessions.get("hook-3"))?.gate ? true : undefined),
      "the gate",
    );
    await api.call("POST", "/api/sessions/hook-3/interrupts", {
      token: REVIEWER,
      body: { type: "approve" },
    });
    await until(
      async () =>
        (await api.store.sessions.get("hook-3"))?.status === "completed" ? true : undefined,
      "completion",
    );
    expect(Date.now() - started).toBeLessThan(1500);
    const failed = await until(async () => {
      const d = (await api.call("GET", "/api/deliveries")).body.items as {
        status: string;
        lastError: string;
      }[];
      return d.length > 0 && d.every((x) => x.status === "failed") ? d : undefined;
    }, "the deliveries to be abandoned");
    expect(failed[0]!.lastError).toContain("no answer within 2000 ms");
  });

  it("asks for approval once while a run waits in process at a timed gate, before the timeout acts, and not again when it suspends there", async () => {
    const hook = await receiver((_r, response) => response.writeHead(200).end());
    const api = await hookedApi("timed", hook.url, 30_000);
    const id = "hook-timed";
    await api.call("POST", "/api/runs", { body: { agent: "review", sessionId: id } });
    const [request] = await untilRequests(hook.received, id);
    expect(request).toMatchObject({
      type: "approval.requested",
      status: "running",
      node: "draft",
      gate: { node: "draft", revision: 0 },
    });
    expect(request.gate.deadline).toBeGreaterThan(Date.now());
    // Still waiting in process: the timeout has not acted.
    const summary = await api.store.sessions.get(id);
    expect(summary).toMatchObject({
      status: "running",
      gate: { requestId: request.gate.requestId },
    });
    expect(request.checkpointId).toBe(summary?.checkpointId);

    await api.interrupts.send(id, { type: "pause", mode: "suspend" }, { sender: "rita" });
    await until(async () => {
      const s = await api.store.sessions.get(id);
      return s?.status === "paused" && s.gate !== undefined ? true : undefined;
    }, "the run to suspend at the gate");
    await settle();
    expect(requestsOf(deliveredFor(hook.received, id))).toHaveLength(1);

    await api.call("POST", `/api/sessions/${id}/interrupts`, {
      token: REVIEWER,
      body: { type: "approve" },
    });
    const payloads = await until(() => {
      const p = deliveredFor(hook.received, id);
      return p.some((x) => x.type === "session.completed") ? p : undefined;
    }, "completion");
    const { all } = await oneDecidedGate(hook.received, id);
    expect(payloads.find((p) => p.type === "approval.decided")).toMatchObject({
      decision: { decision: "approve", requestId: request.gate.requestId },
    });
    for (const p of all) expect(p.id).toBe(expectedId(hook.url, p));
  });

  it("asks again for each request_changes round at a timed gate, with the round's new request", async () => {
    const hook = await receiver((_r, response) => response.writeHead(200).end());
    const api = await hookedApi("rounds", hook.url, 30_000);
    const id = "hook-rounds";
    await api.call("POST", "/api/runs", { body: { agent: "review", sessionId: id } });
    const waitFor = (n: number) => untilRequests(hook.received, id, n);
    const [first] = await waitFor(1);
    await api.call("POST", `/api/sessions/${id}/interrupts`, {
      token: REVIEWER,
      body: { type: "request_changes", feedback: "mention otters" },
    });
    const [, second] = await waitFor(2);
    expect(second).toMatchObject({ status: "running", gate: { node: "draft", revision: 1 } });
    expect(second.gate.requestId).not.toBe(first.gate.requestId);
    expect(second.id).not.toBe(first.id);
    await api.call("POST", `/api/sessions/${id}/interrupts`, {
      token: REVIEWER,
      body: { type: "approve" },
    });
    await until(() => {
      const p = deliveredFor(hook.received, id);
      return p.some((x) => x.type === "session.completed") ? p : undefined;
    }, "completion");
    await settle();
    expect(deliveredFor(hook.received, id).map((p) => p.type)).toEqual([
      "approval.requested",
      "approval.decided",
      "approval.requested",
      "approval.decided",
      "session.completed",
    ]);
  });

  it("asks for approval at a nested graph's timed gate, naming its path and the session's own checkpoint", async () => {
    const hook = await receiver((_r, response) => response.writeHead(200).end());
    const api = await hookedApi("nested-timed", hook.url, 30_000);
    const id = "hook-nested";
    await api.call("POST", "/api/runs", { body: { agent: "nested", sessionId: id } });
    const [request] = await untilRequests(hook.received, id);
    const summary = await api.store.sessions.get(id);
    expect(summary).toMatchObject({ status: "running", gate: { node: "child/draft" } });
    expect(request).toMatchObject({
      type: "approval.requested",
      status: "running",
      node: "child/draft",
      graph: "nested-review",
      checkpointId: summary?.checkpointId,
      at: summary?.gate?.openedAt,
      gate: {
        requestId: summary?.gate?.requestId,
        node: "child/draft",
        revision: 0,
        deadline: summary?.gate?.deadline,
      },
    });
    expect(request.id).toBe(expectedId(hook.url, request));
    await api.call("POST", `/api/sessions/${id}/interrupts`, {
      token: REVIEWER,
      body: { type: "approve" },
    });
    await untilDelivered(hook.received, id, "session.completed");
    const { decided } = await oneDecidedGate(hook.received, id);
    expect(decided).toMatchObject({
      node: "child/draft",
      graph: "nested-review",
      decision: {
        requestId: request.gate.requestId,
        node: "child/draft",
        decision: "approve",
        by: "human",
      },
    });
    expect(decided.id).toBe(expectedId(hook.url, decided));
  });

  it("asks for approval once, as suspended, at a nested graph's gate without a timeout", async () => {
    const hook = await receiver((_r, response) => response.writeHead(200).end());
    const api = await hookedApi("nested-suspended", hook.url, 0);
    const id = "hook-nested-suspended";
    await api.call("POST", "/api/runs", { body: { agent: "nested", sessionId: id } });
    await until(async () => {
      const s = await api.store.sessions.get(id);
      return s?.status === "paused" ? true : undefined;
    }, "the run to suspend at the nested gate");
    await untilRequests(hook.received, id);
    await settle();
    const requests = requestsOf(deliveredFor(hook.received, id));
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      status: "paused",
      gate: { node: "child/draft", revision: 0 },
    });
    expect(requests[0].gate).not.toHaveProperty("deadline");
    await api.call("POST", `/api/sessions/${id}/interrupts`, {
      token: REVIEWER,
      body: { type: "approve" },
    });
    await untilDelivered(hook.received, id, "session.completed");
    const { decided } = await oneDecidedGate(hook.received, id);
    expect(decided).toMatchObject({
      decision: { requestId: requests[0].gate.requestId, decision: "approve" },
    });
  });
});

/**
 * A webhook sender to `url` over a connection of its own to the SQLite file at `path`, started,
 * and closed after the file's tests.
 */
async function senderOn(path: string, url: string, catchUp?: number): Promise<void> {
  const store = await SqliteStore.open({ path, logger: silentLogger, pollIntervalMs: 5 });
  const sender = new WebhookSender(
    store,
    resolveWebhookOptions({
      endpoints: [{ url, secret: SECRET }],
      backoffMs: 50,
      ...(catchUp === undefined ? {} : { catchUp }),
    }),
    silentLogger,
  );
  afterAll(async () => {
    await sender.close();
    await store.close();
  });
  sender.start();
}

describe("webhooks of two nested gates open at once", () => {
  it("tells the decision of the gate the inbox no longer shows, from another connection", async () => {
    const hook = await receiver((_r, response) => response.writeHead(200).end());
    const path = `${dir}/two-nested.db`;
    const writer = await SqliteStore.open({ path, logger: silentLogger });
    afterAll(() => writer.close());
    await senderOn(path, hook.url);
    const id = "hook-two-nested";
    const gateIn = (thread: string): GateMeta => ({
      ...GATE,
      requestId: `${thread}-run.1`,
      node: `${thread}/draft`,
      // Timed gates: the run waits at both in process, its own thread still running.
      deadline: T0 + 60_000,
    });
    const nested = (thread: string, seq: number, meta: CheckpointRecord["meta"]) =>
      checkpoint(id, seq, { thread, runId: `${thread}-run`, meta, createdAt: T0 + 10 * seq });
    // Two nested threads each waiting at a timed gate, as any writer of the store may leave
    // them (a run of the engine opens one at a time: gates do not run in runs nested in
    // parallel branches, and `interruptConfig` cannot name their nodes): the inbox shows the
    // one opened last.
    await writer.commit({
      checkpoints: [checkpoint(id, 1, { meta: { v: 1, graph: "outer" } }), checkpoint(id, 2)],
      now: T0,
    });
    const [a, b] = [gateIn("a"), gateIn("b")];
    await writer.commit({ checkpoints: [nested("a", 1, { v: 1, gate: a })], now: T0 });
    await untilRequests(hook.received, id, 1);
    await writer.commit({ checkpoints: [nested("b", 1, { v: 1, gate: b })], now: T0 });
    await untilRequests(hook.received, id, 2);
    expect((await writer.sessions.get(id))?.gate).toEqual(b);
    const decision = {
      requestId: a.requestId,
      node: a.node,
      revision: 0,
      decision: "approve",
      by: "human",
    } as const;
    await writer.commit({ checkpoints: [nested("a", 2, { v: 1, decision })], now: T0 });
    await untilDelivered(hook.received, id, "approval.decided");
    // Deciding `a` left the summary's gate as it was.
    expect((await writer.sessions.get(id))?.gate).toEqual(b);
    const delivered = deliveredFor(hook.received, id);
    expect(delivered.map((p) => [p.type, p.gate?.requestId ?? p.decision?.requestId])).toEqual([
      ["approval.requested", a.requestId],
      ["approval.requested", b.requestId],
      ["approval.decided", a.requestId],
    ]);
    expect(delivered[2]).toMatchObject({ node: "a/draft", status: "running", graph: "outer" });
  });
});

describe("webhooks of gates that opened while no server listened", () => {
  /** Sessions waiting at a gate of their own graph, at a nested timed gate, and one done. */
  async function written(path: string): Promise<{ own: GateMeta; nested: GateMeta }> {
    const store = await SqliteStore.open({ path, logger: silentLogger });
    const own: GateMeta = { ...GATE, requestId: "own-run.2" };
    const nested: GateMeta = {
      ...GATE,
      requestId: "child-run.1",
      node: "child/draft",
      deadline: T0 + 60_000,
    };
    await store.commit({
      checkpoints: [
        checkpoint("own", 1, { meta: { v: 1, graph: "outer" } }),
        checkpoint("own", 2, { status: "paused", node: "draft", meta: { v: 1, gate: own } }),
        checkpoint("nested", 1, { meta: { v: 1, graph: "outer" }, createdAt: T0 + 10 }),
        checkpoint("nested", 1, {
          thread: "child",
          runId: "child-run",
          meta: { v: 1, gate: nested },
          createdAt: T0 + 20,
        }),
        checkpoint("done", 1, { status: "completed", createdAt: T0 + 30 }),
      ],
      now: T0,
    });
    await store.close();
    return { own, nested };
  }

  it("asks for approval where sessions wait, as it did when their gates opened", async () => {
    const hook = await receiver((_r, response) => response.writeHead(200).end());
    const path = `${dir}/catch-up.db`;
    const { own, nested } = await written(path);
    await senderOn(path, hook.url);
    const [ownRequest] = await untilRequests(hook.received, "own");
    const [nestedRequest] = await untilRequests(hook.received, "nested");
    expect(ownRequest).toMatchObject({
      type: "approval.requested",
      status: "paused",
      checkpointId: "own|#2",
      node: "draft",
      at: T0 + 2,
      gate: { requestId: own.requestId, node: "draft", revision: 0 },
    });
    expect(nestedRequest).toMatchObject({
      type: "approval.requested",
      status: "running",
      checkpointId: "nested|#1",
      node: "child/draft",
      at: nested.openedAt,
      gate: { requestId: nested.requestId, deadline: nested.deadline },
    });
    for (const request of [ownRequest, nestedRequest]) {
      expect(request.id).toBe(expectedId(hook.url, request));
    }
    await settle();
    expect(hook.received.map((r) => JSON.parse(r.body).sessionId).sort()).toEqual([
      "nested",
      "own",
    ]);
  });

  it("asks again for the newest `catchUp` sessions only, and for none with 0", async () => {
    const hook = await receiver((_r, response) => response.writeHead(200).end());
    const path = `${dir}/catch-up-bounded.db`;
    await written(path);
    await senderOn(path, hook.url, 0);
    await senderOn(path, hook.url, 1);
    await untilRequests(hook.received, "nested");
    await settle();
    // The nested gate opened last: it is the newest in the inbox.
    expect(hook.received.map((r) => JSON.parse(r.body).sessionId)).toEqual(["nested"]);
  });
});
