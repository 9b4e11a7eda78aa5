/**
 * Load on the review API over loopback, on SQLite and on PostgreSQL: 200 open event streams
 * (10 on each of 20 sessions suspended by a pause) and a burst of 2,000 interrupt POSTs
 * (`update_state`, which leaves a paused session paused) from 20 concurrent clients. Then one
 * `resume` per session wakes it, the run applies every queued message, and the script checks
 * that every receipt settled and that every stream received every event of its session.
 * Prints throughput, p50/p99 latency, errors and RSS before/peak/after. Server and clients share
 * this process; every request goes to 127.0.0.1 and the script stops by itself.
 *
 *   npx tsx --conditions=trellis-source bench/server-load.ts [sqlite|postgres|both]
 *
 * PostgreSQL: TRELLIS_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, in a
 * schema of its own that is dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { z } from "zod";
import { PostgresStore } from "../src/entries/postgres.js";
import { createServer } from "../src/entries/server.js";
import { SqliteStore } from "../src/entries/sqlite.js";
import {
  END,
  Graph,
  GraphAgent,
  InProcessDispatcher,
  InterruptService,
  START,
  type Store,
  silentLogger,
} from "../src/index.js";

const SESSIONS = 20;
const STREAMS_PER_SESSION = 10;
const POSTS = Number(process.env.TRELLIS_BENCH_POSTS ?? 2000);
const CLIENTS = 20;
/** The whole run of one backend must finish within this. */
const DEADLINE_MS = 180_000;
const DATABASE_URL =
  process.env.TRELLIS_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const TOKEN = randomBytes(24).toString("hex");

const State = z.object({ notes: z.array(z.string()).default([]), n: z.number().default(0) });
const graph = new Graph({ state: State, name: "load" })
  .addNode("one", () => ({ n: 1 }))
  .addNode("two", () => ({ n: 2 }))
  .addEdge(START, "one")
  .addEdge("one", "two")
  .addEdge("two", END)
  .compile();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

interface Stream {
  readonly session: string;
  received: number;
  settled: number;
  readonly ids: Set<string>;
  duplicates: number;
  readonly controller: AbortController;
}

async function openStream(url: string, session: string): Promise<Stream> {
  const controller = new AbortController();
  const stream: Stream = {
    session,
    received: 0,
    settled: 0,
    ids: new Set(),
    duplicates: 0,
    controller,
  };
  const response = await fetch(`${url}/api/sessions/${session}/events`, {
    headers: { authorization: `Bearer ${TOKEN}` },
    signal: controller.signal,
  });
  if (!response.ok || response.body === null) throw new Error(`stream: ${response.status}`);
  let ready: () => void = () => {};
  const isReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let at = buffer.indexOf("\n\n");
        while (at >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const id = /^id: (.*)$/m.exec(block)?.[1];
          if (event === "ready") ready();
          if (event === "interrupt.received" || event === "interrupt.settled") {
            const key = `${id} ${event}`;
            if (stream.ids.has(key)) stream.duplicates++;
            stream.ids.add(key);
            if (event === "interrupt.received") stream.received++;
            else stream.settled++;
          }
          at = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // closed by the script
    }
  })();
  await isReady;
  return stream;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function until(check: () => boolean | Promise<boolean>, deadline: number, what: string) {
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out: ${what}`);
    await sleep(25);
  }
}

async function runBackend(name: string, store: Store): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  const interrupts = new InterruptService({
    store,
    logger: silentLogger,
    limits: { maxQueueSize: 1000 },
  });
  const agent = new GraphAgent({
    graph,
    name: "load",
    store,
    interrupts,
    interruptConfig: { check: "before" },
    logger: silentLogger,
  });
  const agents = { load: agent };
  const dispatcher = new InProcessDispatcher(agents, { logger: silentLogger });
  const server = await createServer({
    store,
    interrupts,
    agents,
    dispatcher,
    auth: { tokens: [{ token: TOKEN, name: "load", role: "admin" }] },
    logger: silentLogger,
    limits: { maxStreams: 1000 },
  });
  const listening = await server.listen({ port: 0, host: "127.0.0.1" });
  const sessions = Array.from({ length: SESSIONS }, (_, i) => `load-${name}-${i}`);
  for (const id of sessions) {
    await interrupts.send(id, { type: "pause", mode: "suspend" });
    const result = await agent.run({}, { sessionId: id });
    if (result.status !== "paused") throw new Error(`${id} did not pause: ${result.status}`);
  }

  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 50);

  const streams: Stream[] = [];
  for (const id of sessions) {
    const opened = await Promise.all(
      Array.from({ length: STREAMS_PER_SESSION }, () => openStream(listening.url, id)),
    );
    streams.push(...opened);
  }

  const latencies: number[] = [];
  const receipts: string[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (;;) {
        const i = next++;
        if (i >= POSTS || Date.now() > deadline) return;
        const session = sessions[i % SESSIONS]!;
        const t0 = performance.now();
        try {
          const response = await fetch(`${listening.url}/api/sessions/${session}/interrupts`, {
            method: "POST",
            headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
            body: JSON.stringify({ type: "update_state", values: { notes: [`m${i}`] } }),
          });
          const body = (await response.json()) as { receipt?: { id: string } };
          if (response.status !== 202 || body.receipt === undefined) errors++;
          else receipts.push(body.receipt.id);
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  // Every stream sees every message of its session arrive.
  const perSession = POSTS / SESSIONS;
  await until(
    () => streams.every((s) => s.received >= perSession),
    deadline,
    "every stream to receive every message",
  );
  const deliveredAt = (performance.now() - started) / 1000;

  // One resume per session: the run applies every queued message and completes.
  for (const id of sessions) {
    const response = await fetch(`${listening.url}/api/sessions/${id}/interrupts`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "resume" }),
    });
    if (response.status !== 202 && response.status !== 200) errors++;
  }
  await until(
    async () => {
      for (const id of sessions) {
        if ((await store.sessions.get(id))?.status !== "completed") return false;
      }
      return true;
    },
    deadline,
    "every session to complete",
  );
  let unsettled = 0;
  for (const id of receipts) {
    const outcome = await interrupts.outcome(id);
    if (outcome === undefined) unsettled++;
  }
  await until(
    () => streams.every((s) => s.settled >= perSession + 1),
    deadline,
    "every stream to receive every settlement",
  );
  const missing = streams.filter((s) => s.received < perSession + 1 || s.settled < perSession + 1);
  const duplicates = streams.reduce((sum, s) => sum + s.duplicates, 0);

  for (const s of streams) s.controller.abort();
  await sleep(200);
  clearInterval(sampler);
  await server.close();
  await dispatcher.idle();
  globalThis.gc?.();
  await sleep(100);
  const rssAfter = process.memoryUsage().rss;

  latencies.sort((a, b) => a - b);
  console.log(`\n${name}`);
  console.log(
    `  POSTs                ${latencies.length} from ${CLIENTS} clients in ${seconds.toFixed(2)} s`,
  );
  console.log(`  throughput           ${(latencies.length / seconds).toFixed(0)} POST/s`);
  console.log(
    `  latency p50 / p99    ${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`,
  );
  console.log(`  errors               ${errors}`);
  console.log(`  receipts settled     ${receipts.length - unsettled} / ${receipts.length}`);
  console.log(
    `  streams              ${streams.length}, all events on every stream: ${missing.length === 0 ? "yes" : `no (${missing.length} short)`}, duplicates ${duplicates}`,
  );
  console.log(`  last event delivered ${deliveredAt.toFixed(2)} s after the burst began`);
  console.log(`  RSS before/peak/after ${mb(rssBefore)} / ${mb(rssPeak)} / ${mb(rssAfter)}`);
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? "both";
  if (which === "sqlite" || which === "both") {
    const dir = mkdtempSync(join(tmpdir(), "trellis-server-load-"));
    const store = await SqliteStore.open({ path: join(dir, "load.db"), logger: silentLogger });
    try {
      await runBackend("sqlite", store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (which === "postgres" || which === "both") {
    const schema = `bench_server_${randomBytes(4).toString("hex")}`;
    const store = await PostgresStore.connect({
      connectionString: DATABASE_URL,
      schema,
      logger: silentLogger,
    });
    try {
      await runBackend("postgres", store);
    } finally {
      await store.close();
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  }
}

await main();
