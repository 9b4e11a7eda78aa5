/**
 * A second process for the SQLite store's cross-process tests, run with
 * `node --import tsx child.ts <command> <db> …`. It prints one line per step (`ready`, `held`,
 * a JSON result) so the test can follow it, and reads `go` from stdin where it waits.
 */
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import { silentLogger } from "../../../src/logger.js";
import type { CheckpointRecord } from "../../../src/store/checkpoint-store.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";

const [command, given, ...args] = process.argv.slice(2);
if (command === undefined || given === undefined) throw new Error("usage: child.ts <command> <db>");
const path: string = given;

const lines = createInterface({ input: process.stdin });
const nextLine = (): Promise<string> =>
  new Promise((resolve) => lines.once("line", (line) => resolve(line)));
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** High-resolution wall time, comparable between processes of one machine. */
const wallTime = () => performance.timeOrigin + performance.now();

/** A full checkpoint of run `child-run` in the session's own thread. */
function childCheckpoint(
  sessionId: string,
  seq: number,
  id: string,
  fields: Partial<Pick<CheckpointRecord, "next" | "meta">> & {
    readonly state: Record<string, unknown>;
  },
): CheckpointRecord {
  return {
    sessionId,
    thread: "",
    id,
    seq,
    parentId: null,
    runId: "child-run",
    node: null,
    iteration: 0,
    next: fields.next ?? [],
    status: "running",
    meta: fields.meta ?? { v: 1 },
    createdAt: Date.now(),
    kind: "full",
    state: fields.state,
  };
}

async function main(): Promise<void> {
  switch (command) {
    // Sends `count` messages `intervalMs` apart once told `go`; each id carries its send time.
    case "send": {
      const [count, intervalMs] = args.map(Number) as [number, number];
      const store = await SqliteStore.open({ path, logger: silentLogger });
      say("ready");
      await nextLine();
      for (let i = 0; i < count; i++) {
        const sentAt = wallTime();
        const id = `lat-${i}-${sentAt}`;
        const result = await store.interrupts.enqueue(
          {
            id,
            sessionId: "latency",
            priority: 2,
            queuedAt: Date.now(),
            expiresAt: Date.now() + 60_000,
            kind: "text",
            text: "ping",
          },
          { maxQueueSize: 100_000, maxSessions: 100 },
          { sessionId: "latency", at: Date.now(), kind: "interrupt.received" },
        );
        if (!result.ok) throw new Error(result.reason);
        await sleep(intervalMs);
      }
      await store.close();
      say("done");
      return;
    }
    // Races for the leases of sessions race-0 … race-(rounds-1): told `go <startAt>`, it tries
    // round r at the wall time startAt + r * slotMs, as the other racers do.
    case "race": {
      const [rounds, slotMs] = args.map(Number) as [number, number];
      const owner = `child-${process.pid}`;
      const store = await SqliteStore.open({ path, logger: silentLogger, busyTimeoutMs: 10_000 });
      say("ready");
      const startAt = Number((await nextLine()).split(" ")[1]);
      const won: number[] = [];
      for (let round = 0; round < rounds; round++) {
        // Spin rather than sleep: timers are too coarse to line the racers up.
        while (Date.now() < startAt + round * slotMs) {}
        const result = await store.sessions.acquire({
          sessionId: `race-${round}`,
          owner,
          token: `${owner}-${round}`,
          ttlMs: 600_000,
          now: Date.now(),
        });
        if (result.ok) won.push(round);
      }
      await store.close();
      say(JSON.stringify({ owner, won }));
      return;
    }
    // Takes the session's lease, claims its first message, commits a checkpoint, then hangs.
    case "hold": {
      const [sessionId, ttlMs] = [args[0]!, Number(args[1])];
      const store = await SqliteStore.open({ path, logger: silentLogger });
      const result = await store.sessions.acquire({
        sessionId,
        owner: `child-${process.pid}`,
        token: `child-${process.pid}`,
        ttlMs,
        now: Date.now(),
      });
      if (!result.ok) throw new Error("the session is busy");
      const claimed = await store.interrupts.claim(sessionId, {
        now: Date.now(),
        owner: result.lease.token,
      });
      await store.commit({
        lease: result.lease,
        checkpoints: [
          childCheckpoint(sessionId, 1, "held-1", {
            next: ["work"],
            meta: { v: 1, graph: "held" },
            state: { step: 1 },
          }),
        ],
        now: Date.now(),
      });
      say(JSON.stringify({ held: true, claimed: claimed?.id ?? null }));
      setInterval(() => {}, 60_000);
      return;
    }
    // Commits one checkpoint of the session's own thread at `seq` with `id`, under a lease it
    // takes first (`lease`) or with none (`none`), and prints the outcome.
    case "commit": {
      const [sessionId, seq, id, leased] = [args[0]!, Number(args[1]), args[2]!, args[3]];
      const store = await SqliteStore.open({ path, logger: silentLogger });
      let outcome: string = "committed";
      try {
        const acquired =
          leased === "lease"
            ? await store.sessions.acquire({
                sessionId,
                owner: `child-${process.pid}`,
                token: `child-${process.pid}`,
                ttlMs: 60_000,
                now: Date.now(),
              })
            : undefined;
        if (acquired !== undefined && !acquired.ok) throw new Error("the session is busy");
        await store.commit({
          ...(acquired?.ok ? { lease: acquired.lease } : {}),
          checkpoints: [childCheckpoint(sessionId, seq, id, { state: { by: "child" } })],
          now: Date.now(),
        });
      } catch (error) {
        outcome = (error as { code?: string }).code ?? String(error);
      }
      await store.close();
      say(JSON.stringify({ outcome }));
      return;
    }
    // Opens the store (migrating a new file) once told `go`.
    case "open": {
      say("ready");
      await nextLine();
      const store = await SqliteStore.open({ path, logger: silentLogger, busyTimeoutMs: 10_000 });
      await store.close();
      say(JSON.stringify({ opened: true }));
      return;
    }
    // Holds the write lock for `holdMs` with an uncommitted write, then rolls it back.
    case "lock": {
      const [holdMs] = args.map(Number) as [number];
      const db = new Database(path);
      db.exec("BEGIN IMMEDIATE");
      db.prepare("INSERT INTO audit_sequences (session_id, last_seq) VALUES ('lock', 1)").run();
      say("locked");
      await sleep(holdMs);
      db.exec("ROLLBACK");
      db.close();
      say("released");
      return;
    }
    default:
      throw new Error(`unknown command ${command}`);
  }
}

main().then(
  () => lines.close(),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
