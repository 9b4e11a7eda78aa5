/**
 * Webhook deliveries kept in the store's outbox: what a stopped server could not deliver is
 * sent after a restart, servers sharing a store send each event once between them, and a
 * delivered request is not asked again. Each sender and writer has a connection of its own, as
 * separate processes would.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { resolveWebhookOptions, WebhookSender } from "../../src/server/webhooks.js";
import type { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { connect, dropSchema, testSchema } from "../store/postgres/test-database.js";
import { checkpoint, GATE, T0 } from "../store/suite/fixtures.js";
import { spawnFixture } from "./child.js";
import { tempDir, until } from "./harness.js";

const dir = tempDir("webhook-outbox");
const SECRET = "webhook-secret-0123456789";

interface Received {
  readonly delivery: string;
  readonly type: string;
  readonly sessionId: string;
  readonly answered: number;
}

/** A receiver that answers `status()` to every POST (0: never) and remembers each. */
async function receiver(status: () => number) {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    request.on("end", () => {
      const answered = status();
      const payload = JSON.parse(body);
      received.push({
        delivery: String(request.headers["trellis-delivery"]),
        type: payload.type,
        sessionId: payload.sessionId,
        answered,
      });
      // 0: no answer at all, as a receiver that hangs.
      if (answered !== 0) response.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

const closing: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closing.reverse()) await close();
});

const sqlite = async (path: string) => {
  const store = await SqliteStore.open({ path, logger: silentLogger, pollIntervalMs: 5 });
  closing.push(() => store.close());
  return store;
};

/** A started sender to `url` over `store`, retrying after 100 ms. */
function sender(store: Store, url: string, options: Record<string, unknown> = {}): WebhookSender {
  const s = new WebhookSender(
    store,
    resolveWebhookOptions({ endpoints: [{ url, secret: SECRET }], backoffMs: 100, ...options }),
    silentLogger,
  );
  closing.push(() => s.close());
  s.start();
  return s;
}

/** A session that completed, written by `writer`. */
async function completed(writer: Store, sessionId: string) {
  await writer.commit({
    checkpoints: [
      checkpoint(sessionId, 1, { meta: { v: 1, graph: "outer" } }),
      checkpoint(sessionId, 2, { status: "completed", node: "publish" }),
    ],
    now: T0,
  });
}

/** A session suspended at a gate, written by `writer`. */
async function gated(writer: Store, sessionId: string) {
  await writer.commit({
    checkpoints: [
      checkpoint(sessionId, 1, { meta: { v: 1, graph: "outer" } }),
      checkpoint(sessionId, 2, {
        status: "paused",
        node: "draft",
        meta: { v: 1, gate: { ...GATE, requestId: `${sessionId}-run.2` } },
      }),
    ],
    now: T0,
  });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

describe("webhook outbox", () => {
  it("sends after a restart what a stopped server could not deliver, with the same id, its attempts counted on", async () => {
    let up = false;
    const hook = await receiver(() => (up ? 204 : 503));
    const path = `${dir}/restart.db`;
    const writer = await sqlite(path);
    const first = sender(await sqlite(path), hook.url, { backoffMs: 200 });
    await completed(writer, "done");
    await until(async () => {
      const [d] = (await writer.deliveries.list()).items;
      return d !== undefined && d.attempts > 0 ? true : undefined;
    }, "a first attempt recorded");
    await first.close();
    const [left] = (await writer.deliveries.list()).items;
    expect(left).toMatchObject({
      type: "session.completed",
      sessionId: "done",
      status: "pending",
      lastError: "HTTP 503",
      lastStatus: 503,
    });
    const triedBefore = left!.attempts;
    expect(triedBefore).toBeGreaterThanOrEqual(1);
    up = true;
    // A new server: no notifier event will tell it of the session, which completed before.
    sender(await sqlite(path), hook.url);
    await until(
      () => (hook.received.some((r) => r.answered === 204) ? true : undefined),
      "delivery",
    );
    expect(new Set(hook.received.map((r) => r.delivery))).toEqual(new Set([left!.id]));
    await until(async () => {
      const [d] = (await writer.deliveries.list()).items;
      return d?.status === "delivered" ? d : undefined;
    }, "the delivery recorded").then((d) => {
      expect(d).toMatchObject({ attempts: triedBefore + 1, lastStatus: 204, lastError: null });
    });
  });

  it("two servers over one store send each event once between them", async () => {
    const hook = await receiver(() => 200);
    const path = `${dir}/two-servers.db`;
    const writer = await sqlite(path);
    sender(await sqlite(path), hook.url);
    sender(await sqlite(path), hook.url);
    await completed(writer, "a");
    await gated(writer, "b");
    await until(() => (hook.received.length >= 2 ? true : undefined), "two deliveries");
    await settle();
    expect(hook.received.map((r) => [r.sessionId, r.type]).sort()).toEqual([
      ["a", "session.completed"],
      ["b", "approval.requested"],
    ]);
  });

  it("does not ask again after a restart for a request it delivered, and leaves another endpoint's deliveries alone", async () => {
    const hook = await receiver(() => 200);
    const other = await receiver(() => 200);
    const path = `${dir}/no-repeat.db`;
    const writer = await sqlite(path);
    const first = sender(await sqlite(path), hook.url);
    await gated(writer, "waits");
    await until(async () => {
      const [d] = (await writer.deliveries.list()).items;
      return d?.status === "delivered" ? true : undefined;
    }, "the request delivered");
    await first.close();
    // The catch-up of a new server finds the request delivered already.
    sender(await sqlite(path), hook.url);
    // A server sending elsewhere adds its own delivery and sends nothing of the first's.
    sender(await sqlite(path), other.url);
    await until(() => (other.received.length >= 1 ? true : undefined), "the other's request");
    await settle();
    expect(hook.received).toHaveLength(1);
    expect(other.received).toHaveLength(1);
    expect(other.received[0]!.delivery).not.toBe(hook.received[0]!.delivery);
  });

  it("gives up after maxAttempts, and a later server does not try a failed delivery again", async () => {
    const hook = await receiver(() => 500);
    const path = `${dir}/failed.db`;
    const writer = await sqlite(path);
    const first = sender(await sqlite(path), hook.url, { backoffMs: 10, maxAttempts: 3 });
    await completed(writer, "fails");
    await until(async () => {
      const [d] = (await writer.deliveries.list()).items;
      return d?.status === "failed" ? d : undefined;
    }, "the delivery to fail");
    await first.close();
    sender(await sqlite(path), hook.url, { backoffMs: 10, maxAttempts: 3 });
    await settle();
    expect(hook.received).toHaveLength(3);
  });

  it("a delivery under way in a process killed with SIGKILL is sent by another once its claim runs out", async () => {
    let hang = true;
    const hook = await receiver(() => (hang ? 0 : 204));
    const path = `${dir}/killed.db`;
    const writer = await sqlite(path);
    const child = spawnFixture("sender-child.ts", [path, hook.url, SECRET, "2000"]);
    expect(await child.line()).toBe("started");
    await completed(writer, "killed");
    await until(() => (hook.received.length >= 1 ? true : undefined), "the child's attempt");
    const [claimed] = (await writer.deliveries.list()).items;
    expect(claimed).toMatchObject({ status: "pending", attempts: 0 });
    child.process.kill("SIGKILL");
    await child.exited;
    hang = false;
    const killedAt = Date.now();
    sender(await sqlite(path), hook.url, { timeoutMs: 2_000 });
    await until(
      () => (hook.received.some((r) => r.answered === 204) ? true : undefined),
      "the delivery from the second sender",
      15_000,
    );
    // Not before the child's claim ran out: its attempt's 2 s timeout and 5 s more.
    expect(Date.now() - killedAt).toBeGreaterThan(4_000);
    expect(new Set(hook.received.map((r) => r.delivery))).toEqual(new Set([claimed!.id]));
    await until(async () => {
      const [d] = (await writer.deliveries.list()).items;
      return d?.status === "delivered" ? d : undefined;
    }, "the delivery recorded");
  }, 30_000);

  it("refuses the same endpoint URL twice", () => {
    const endpoint = { url: "https://hooks.example/a", secret: SECRET };
    expect(() => resolveWebhookOptions([endpoint, { ...endpoint, secret: `${SECRET}!` }])).toThrow(
      InvalidOptionError,
    );
    expect(() => resolveWebhookOptions({ endpoints: [endpoint], concurrency: 0 })).toThrow(
      /webhooks\.concurrency/,
    );
  });
});

describe("webhook outbox on PostgreSQL", () => {
  const schema = testSchema("outbox");
  afterAll(async () => {
    await dropSchema(schema);
  });
  const pg = async (): Promise<PostgresStore> => {
    const store = await connect(schema);
    closing.push(() => store.close());
    return store;
  };

  it("two servers over one schema send each event once between them, and a restart sends what was left", async () => {
    let up = true;
    const hook = await receiver(() => (up ? 200 : 503));
    const writer = await pg();
    const a = sender(await pg(), hook.url);
    const b = sender(await pg(), hook.url);
    await completed(writer, "pg-a");
    await gated(writer, "pg-b");
    await until(() => (hook.received.length >= 2 ? true : undefined), "two deliveries");
    await settle();
    expect(hook.received.map((r) => [r.sessionId, r.type]).sort()).toEqual([
      ["pg-a", "session.completed"],
      ["pg-b", "approval.requested"],
    ]);
    // Both servers stop while the receiver is down; a third sends what they left.
    up = false;
    await a.close();
    await completed(writer, "pg-c");
    await until(async () => {
      const d = (await writer.deliveries.list()).items.find((x) => x.sessionId === "pg-c");
      return d !== undefined && d.attempts > 0 ? true : undefined;
    }, "an attempt at pg-c recorded");
    await b.close();
    up = true;
    sender(await pg(), hook.url);
    await until(
      () =>
        hook.received.some((r) => r.sessionId === "pg-c" && r.answered === 200) ? true : undefined,
      "pg-c delivered",
    );
  });
});
