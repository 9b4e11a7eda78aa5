/**
 * Webhooks that outlive their server. A receiver (here, in this process) verifies each
 * delivery's signature and is down at first; the review server's first attempt at
 * `approval.requested` fails and the server stops. A second server over the same SQLite file
 * (in a temporary directory) sends what the first left in the store's outbox, then the
 * decision and the run's end. Last, it prints the outbox.
 *
 *   npx tsx --conditions=trellis-source samples/webhooks/main.ts
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InterruptService } from "trellis";
import { createServer, verifyWebhook } from "trellis/server";
import { SqliteStore } from "trellis/sqlite";
import { createReviewAgent, input } from "../hitl-review/agents.js";

const dir = mkdtempSync(join(tmpdir(), "trellis-webhooks-"));
const PATH = join(dir, "trellis.db");
const SECRET = process.env.TRELLIS_WEBHOOK_SECRET ?? randomBytes(24).toString("base64url");

// The receiver: refuses a bad signature, answers 503 while it is "down", and acts on each
// delivery once (a delivery can come again: drop repeats by `Trellis-Delivery`).
let up = false;
/** The event types received, by delivery id. */
const seen = new Map<string, string>();
const receiver = createHttpServer((request, response) => {
  let raw = "";
  request.on("data", (chunk: Buffer) => {
    raw += chunk.toString("utf8");
  });
  request.on("end", () => {
    if (!verifyWebhook(SECRET, request.headers["trellis-signature"] as string, raw)) {
      response.writeHead(401).end();
      return;
    }
    const event = JSON.parse(raw);
    if (!up) {
      console.log(`receiver down: ${event.type} answered 503`);
      response.writeHead(503).end();
      return;
    }
    const id = String(request.headers["trellis-delivery"]);
    if (!seen.has(id)) seen.set(id, event.type);
    response.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

/** A review server with webhooks over the SQLite file, as each process of a deployment opens it. */
async function reviewServer() {
  const store = await SqliteStore.open({ path: PATH });
  const interrupts = new InterruptService({ store });
  const agent = createReviewAgent({ store, interrupts });
  const server = await createServer({
    store,
    interrupts,
    agents: { "hitl-review": agent },
    auth: {
      tokens: [{ token: randomBytes(18).toString("base64url"), name: "ops", role: "admin" }],
    },
    webhooks: { endpoints: [{ url, secret: SECRET }], backoffMs: 300 },
  });
  return {
    store,
    interrupts,
    agent,
    server,
    async close() {
      await server.close();
      await store.close();
    },
  };
}

const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
};

// The first server: the run suspends at its gate; the receiver is down.
const first = await reviewServer();
const run = await first.agent.run(input);
console.log(`run: ${run.status} at ${run.gate?.node}`);
await until(async () => (await first.store.deliveries.list()).items.some((d) => d.attempts > 0));
await first.close();
console.log("first server stopped; its delivery waits in the outbox");

// The receiver is back; a second server sends what was left, then the approval goes through.
up = true;
const second = await reviewServer();
await until(async () => seen.size === 1);
console.log(`received ${[...seen.values()].join(", ")}`);
await second.interrupts.send(run.sessionId, { type: "approve" }, { sender: "ana" });
const done = await second.agent.resume(run.sessionId);
console.log(`resume: ${done.status}`);
await until(async () => seen.size === 3);
// Each delivery is a POST of its own: they may arrive in any order.
console.log(`received ${[...seen.values()].slice(1).sort().join(", ")}`);

const { items } = await second.server.deliveries();
for (const d of items.sort((a, b) => a.type.localeCompare(b.type))) {
  console.log(`outbox: ${d.type} ${d.status} after ${d.attempts} attempt(s)`);
}
await second.close();
receiver.close();
rmSync(dir, { recursive: true, force: true });
