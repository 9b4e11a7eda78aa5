/**
 * Engine cases across real processes: child processes (`engine-child.ts`) run, steer, die
 * (SIGKILL) and resume one session over one database, while this process watches through its
 * own store. No finished node runs again, an in-flight node killed with its process runs again,
 * a dead process's session is taken over within the lease's time to live, and of two processes
 * resuming one session at the same moment exactly one runs it.
 *
 * `TRELLIS_TEST_LEASE_TTL_MS` sets the lease time to live of the processes (default 5000).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Store } from "../../../src/index.js";
import {
  eventually,
  expectAuditInOrder,
  expectNoMissingParent,
  settledOutcome,
} from "../engine-checks.js";
import { executions, type ProcessConfig, processAgent, WHEN } from "./engine-graph.js";
import { type Answer, EngineProcess } from "./engine-process.js";

const TTL = Number(process.env.TRELLIS_TEST_LEASE_TTL_MS ?? 5_000);
/** What a loaded machine may add to a takeover: process start-up is not in it, polling is. */
const SLACK_MS = 2_000;

export interface ProcessBackend {
  readonly name: "sqlite" | "postgres";
  /** Where a test's processes meet: a database file, or a schema. */
  target(): string;
  /** This process's own store over `target`. */
  open(target: string): Promise<Store>;
  /** Whether a dead process's lease lasts its time to live (SQLite) or ends with its connection. */
  readonly leaseOutlivesProcess: boolean;
  /** A file all processes of a test append their node executions to. */
  logFile(): string;
}

export function describeProcesses(backend: ProcessBackend): void {
  describe(`Engine across processes: ${backend.name}`, () => {
    const session = (label: string) => `proc-${label}-${randomUUID().slice(0, 8)}`;

    async function start(
      count: number,
      target: string,
      config: Omit<ProcessConfig, "log" | "leaseTtlMs"> & { log: string },
    ): Promise<EngineProcess[]> {
      const children = Array.from({ length: count }, () => new EngineProcess());
      await Promise.all(
        children.map((child) =>
          child.send({
            do: "open",
            backend: backend.name,
            target,
            leaseTtlMs: TTL,
            ...config,
          }),
        ),
      );
      return children;
    }

    /** The session's store records tell one story, seen from this process. */
    async function expectSound(store: Store, id: string, abandoned = 0) {
      expect(await expectNoMissingParent(store, id)).toBeGreaterThan(0);
      const { items } = await store.audit.list(id, { limit: 500 });
      expectAuditInOrder(items, { abandoned });
      const stats = await store.interrupts.stats(id);
      expect({ depth: stats.depth, inFlight: stats.inFlight }).toEqual({ depth: 0, inFlight: 0 });
      return items;
    }

    function expectCompleted(answer: Answer) {
      expect(answer).toMatchObject({
        status: "completed",
        log: ["draft", "review", "publish"],
        when: WHEN.getTime(),
        error: null,
      });
    }

    it("suspends at a gate in process A, is approved from process B and resumed in process C, running no finished node again", async () => {
      const target = backend.target();
      const store = await backend.open(target);
      try {
        const log = backend.logFile();
        const id = session("abc");
        const [a, b, c] = await start(3, target, { gate: "suspend", log });
        const pids = await Promise.all([a!, b!, c!].map((p) => String(p.process.pid)));

        const paused = await a!.send({ do: "run", sessionId: id });
        expect(paused).toMatchObject({ status: "paused", log: ["draft", "review"] });
        const requestId = (paused.gate as { requestId: string }).requestId;
        const sent = await b!.send({
          do: "send",
          sessionId: id,
          action: { type: "approve", requestId },
          sender: "ana",
        });
        const done = await c!.send({ do: "resume", sessionId: id });
        expectCompleted(done);

        expect(executions(log, id)).toEqual({
          draft: [pids[0]],
          review: [pids[0]],
          publish: [pids[2]],
        });
        const watcher = processAgent(store, { gate: "suspend", log, leaseTtlMs: TTL });
        expect(
          await settledOutcome((m) => watcher.interrupts.outcome(m), String(sent.id)),
        ).toMatchObject({ status: "applied" });
        const state = (await watcher.agent.getState(id))?.state;
        expect(state?.when).toBeInstanceOf(Date);
        expect(state?.when.getTime()).toBe(WHEN.getTime());
        const audit = await expectSound(store, id);
        expect(audit.filter((e) => e.kind === "approval.decided")).toEqual([
          expect.objectContaining({ actor: "ana", data: expect.objectContaining({ requestId }) }),
        ]);
        await Promise.all([a!, b!, c!].map((p) => p.close()));
      } finally {
        await store.close();
      }
    }, 60_000);

    it("runs the node a SIGKILLed process was in again in the process that takes over, within the lease's time to live, and no finished node", async () => {
      const target = backend.target();
      const store = await backend.open(target);
      try {
        const log = backend.logFile();
        const id = session("kill-node");
        const [[a], [b]] = await Promise.all([
          start(1, target, { gate: "none", hang: "review", log }),
          start(1, target, { gate: "none", log }),
        ]);
        void a!.send({ do: "run", sessionId: id }).catch(() => {});
        await a!.event((e) => e.event === "hang");
        const killedAt = await a!.kill();

        const resumed = await b!.send(
          { do: "resume", sessionId: id, retryBusyForMs: TTL + 10_000 },
          TTL + 30_000,
        );
        expectCompleted(resumed);
        const started = (await b!.event((e) => e.event === "run:started")).at as number;
        const takeover = started - killedAt;
        console.info(
          `${backend.name}: takeover after SIGKILL mid-node in ${takeover.toFixed(0)} ms (lease TTL ${TTL} ms, ${String(resumed.busy)} busy refusals)`,
        );
        expect(takeover).toBeLessThan(TTL + SLACK_MS);
        if (backend.leaseOutlivesProcess) {
          // The dead process's lease was honoured: nobody ran the session before it ran out.
          expect(resumed.busy).toBeGreaterThan(0);
          expect(takeover).toBeGreaterThan(TTL / 2);
        }
        const pa = String(a!.process.pid);
        const pb = String(b!.process.pid);
        expect(executions(log, id)).toEqual({ draft: [pa], review: [pa, pb], publish: [pb] });
        await expectSound(store, id, 1);
        await b!.close();
      } finally {
        await store.close();
      }
    }, 90_000);

    it("resumes at the same gate when the process waiting there is SIGKILLed, and runs only what follows the approval", async () => {
      const target = backend.target();
      const store = await backend.open(target);
      try {
        const log = backend.logFile();
        const id = session("kill-gate");
        const [a, b] = await start(2, target, { gate: "timed", log });
        void a!.send({ do: "run", sessionId: id }).catch(() => {});
        const opened = await a!.event((e) => e.event === "approval:requested");
        // The event comes just before the request is stored: kill once the store has it.
        await eventually(
          async () =>
            (await store.checkpoints.latest(id, ""))?.meta?.gate?.requestId === opened.requestId,
          "the request is stored",
        );
        const killedAt = await a!.kill();

        const resumed = b!.send(
          { do: "resume", sessionId: id, retryBusyForMs: TTL + 10_000 },
          TTL + 30_000,
        );
        const started = (await b!.event((e) => e.event === "run:started", TTL + 20_000))
          .at as number;
        const pa = String(a!.process.pid);
        const pb = String(b!.process.pid);
        expect(executions(log, id)).toEqual({ draft: [pa], review: [pa] });

        // A reviewer in this process approves.
        const reviewer = processAgent(store, { gate: "timed", log, leaseTtlMs: TTL });
        const approve = await reviewer.interrupts.send(
          id,
          { type: "approve", requestId: String(opened.requestId) },
          { sender: "bob" },
        );
        const done = await resumed;
        expectCompleted(done);
        expect(
          await settledOutcome((m) => reviewer.interrupts.outcome(m), approve.id),
        ).toMatchObject({ status: "applied" });
        const takeover = started - killedAt;
        console.info(
          `${backend.name}: takeover after SIGKILL at a gate in ${takeover.toFixed(0)} ms (lease TTL ${TTL} ms)`,
        );
        expect(takeover).toBeLessThan(TTL + SLACK_MS);
        if (backend.leaseOutlivesProcess) expect(done.busy).toBeGreaterThan(0);
        expect(executions(log, id)).toEqual({ draft: [pa], review: [pa], publish: [pb] });
        // The new process waited at the very request the dead one waited at.
        const audit = await expectSound(store, id, 1);
        expect(
          audit.filter((e) => e.kind.startsWith("approval.")).map((e) => [e.kind, e.data]),
        ).toEqual([
          ["approval.requested", expect.objectContaining({ requestId: opened.requestId })],
          ["approval.decided", expect.objectContaining({ requestId: opened.requestId })],
        ]);
        await b!.close();
      } finally {
        await store.close();
      }
    }, 90_000);

    it("lets exactly one of two processes resuming one session at the same moment run it", async () => {
      const target = backend.target();
      const store = await backend.open(target);
      try {
        const log = backend.logFile();
        // `publish` takes a while, so the loser finds the session held rather than ended.
        const config = { gate: "suspend", log, slowMs: 300 } as const;
        const racers = await start(2, target, config);
        const here = processAgent(store, { ...config, leaseTtlMs: TTL });
        const refusals: string[] = [];
        for (let round = 0; round < 3; round++) {
          const id = session(`race-${round}`);
          expect((await here.agent.run({}, { sessionId: id })).status).toBe("paused");
          await here.interrupts.send(id, { type: "approve" });
          const at = Date.now() + 250;
          const results = await Promise.all(
            racers.map((racer) => racer.send({ do: "resume", sessionId: id, at })),
          );
          const winners = results.filter((r) => r.status === "completed");
          expect(winners, `round ${round}: ${JSON.stringify(results)}`).toHaveLength(1);
          expectCompleted(winners[0]!);
          const loser = results.find((r) => r.status !== "completed")!;
          expect(["SESSION_BUSY", "SESSION_ENDED"]).toContain(loser.refused);
          refusals.push(String(loser.refused));
          expect(executions(log, id).publish).toHaveLength(1);
          expect(executions(log, id).draft).toHaveLength(1);
          await expectSound(store, id);
        }
        console.info(`${backend.name}: resume races lost with ${refusals.join(", ")}`);
        await Promise.all(racers.map((p) => p.close()));
      } finally {
        await store.close();
      }
    }, 60_000);

    it("lets exactly one of two processes waiting to take over a SIGKILLed process's session run it", async () => {
      const target = backend.target();
      const store = await backend.open(target);
      try {
        const log = backend.logFile();
        const id = session("kill-race");
        const [[a], [b, c]] = await Promise.all([
          start(1, target, { gate: "none", hang: "review", log }),
          start(2, target, { gate: "none", log, slowMs: 300 }),
        ]);
        void a!.send({ do: "run", sessionId: id }).catch(() => {});
        await a!.event((e) => e.event === "hang");
        await a!.kill();
        // Both wait for the session (while the lease lasts) and go for it the moment it is free.
        const results = await Promise.all(
          [b!, c!].map((p) =>
            p.send({ do: "resume", sessionId: id, retryBusyForMs: TTL + 10_000 }, TTL + 30_000),
          ),
        );
        const winners = results.filter((r) => r.status === "completed");
        expect(winners, JSON.stringify(results)).toHaveLength(1);
        expectCompleted(winners[0]!);
        // The loser found the session held, then ended: it never ran it.
        expect(results.find((r) => r.status !== "completed")?.refused).toBe("SESSION_ENDED");
        const winner = String([b!, c!][results.indexOf(winners[0]!)]!.process.pid);
        const pa = String(a!.process.pid);
        expect(executions(log, id)).toEqual({
          draft: [pa],
          review: [pa, winner],
          publish: [winner],
        });
        await expectSound(store, id, 1);
        await Promise.all([b!, c!].map((p) => p.close()));
      } finally {
        await store.close();
      }
    }, 90_000);
  });
}
