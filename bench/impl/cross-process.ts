/**
 * Cross-process interrupt latency: process B (`interrupt-peer`) waits at an approval gate; this
 * process sends `approve` through its own `InterruptService` over the same store, and one run
 * is the time from `send()` to the moment B applied the decision (its `approval:decided` event,
 * announced once the run stored the decision), both read on the machine's monotonic clock,
 * which every process shares: the IPC hop that brings B's report here is not counted. With
 * `until: "settled"` a run is timed here until the receipt in this process resolves: B
 * committed the decision with the message's settlement, and its notification came back here.
 * Arming the next session (B runs to its gate) happens between runs, untimed.
 */
import { type ChildProcess, fork } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InterruptService } from "../../src/index.js";
import { silentLogger } from "../../src/logger.js";
import { benchDir, benchSchema, dropSchema } from "./durable.js";
import { openStore, type PeerCommand, type PeerReport } from "./interrupt-peer.js";
import type { Runner } from "./runner.js";

/** `.ts` through tsx, `.js` compiled: the peer is started the way this file runs. */
const PEER = fileURLToPath(
  new URL(`./interrupt-peer${import.meta.url.slice(-3)}`, import.meta.url),
);

export async function crossProcessLatency(
  backend: "sqlite" | "postgres",
  until: "applied" | "settled" = "applied",
): Promise<Runner> {
  const dir = backend === "sqlite" ? benchDir("latency") : undefined;
  const location = dir ? join(dir, "trellis.db") : benchSchema("latency");
  const store = await openStore(backend, location);
  const interrupts = new InterruptService({ store, logger: silentLogger });
  const peer: ChildProcess = fork(PEER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiters = new Map<string, (report: PeerReport) => void>();
  let failure: Error | undefined;
  const expect = (key: string) =>
    new Promise<PeerReport>((resolve, reject) => {
      if (failure) reject(failure);
      else waiters.set(key, resolve);
    });
  peer.on("message", (report: PeerReport) => {
    if (report.kind === "error") {
      failure = new Error(`interrupt peer: ${report.message}`);
      for (const resolve of waiters.values()) resolve(report);
      waiters.clear();
      return;
    }
    const key = report.kind === "ready" ? "ready" : `${report.kind}:${report.sessionId}`;
    const resolve = waiters.get(key);
    waiters.delete(key);
    resolve?.(report);
  });
  const command = (c: PeerCommand) => peer.send(c);
  const check = (report: PeerReport) => {
    if (report.kind === "error") throw failure ?? new Error(report.message);
  };

  const ready = expect("ready");
  command({ kind: "open", backend, location });
  check(await ready);
  let round = 0;
  let sessionId = "";
  const arm = async () => {
    sessionId = `latency-${++round}`;
    const waiting = expect(`waiting:${sessionId}`);
    command({ kind: "arm", sessionId });
    check(await waiting);
    // B reports the gate before it starts waiting; let it settle into the wait, and land the
    // send at a random moment of the SQLite notifier's poll interval.
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 10));
  };
  await arm();
  let ownTime: number | undefined;
  return {
    steps: 1,
    ownTime: () => ownTime,
    async run() {
      const applied = expect(`applied:${sessionId}`);
      const sent = process.hrtime.bigint();
      const receipt = await interrupts.send(sessionId, { type: "approve" });
      const report = await applied;
      check(report);
      if (until === "settled") {
        const outcome = await receipt.decision;
        if (outcome.status !== "applied") throw new Error(`approval ${outcome.status}`);
        return;
      }
      if (report.kind !== "applied") throw new Error(`expected applied, got ${report.kind}`);
      ownTime = Number(BigInt(report.at) - sent) / 1e6;
    },
    reset: arm,
    async close() {
      const exited = new Promise((resolve) => peer.once("exit", resolve));
      command({ kind: "close" });
      await exited;
      await store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      else await dropSchema(location);
    },
  };
}

/**
 * The floor of (k) on PostgreSQL: one bare INSERT autocommitted at the server's default
 * durability. Any durable send waits for one such flush before another process can see it.
 */
export async function postgresCommitFloor(): Promise<Runner> {
  const pg = (await import("pg")).default;
  const { DATABASE_URL } = await import("./durable.js");
  const schema = benchSchema("latency_floor");
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  await client.query(`CREATE TABLE "${schema}".sent (id bigint PRIMARY KEY, message text)`);
  let id = 0;
  return {
    steps: 1,
    async run() {
      await client.query({
        name: "sent",
        text: `INSERT INTO "${schema}".sent VALUES ($1, $2)`,
        values: [++id, '{"type":"approve"}'],
      });
    },
    async close() {
      await client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await client.end();
    },
  };
}
